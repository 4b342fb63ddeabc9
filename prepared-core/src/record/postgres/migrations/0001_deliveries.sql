-- Migration 1: the delivery log.
--
-- One row per recorded event, keyed by its dedup key (or `invalid:<uuid>` for a payload that
-- did not decode). Stored in clear: the event's kind, the incident id, the tenant, the
-- credential's (principal's) name, the timestamps, the delivery and attempt counts and the
-- outcome (status and last error, which never quote the payload). The payload itself is
-- AES-256-GCM ciphertext (a 96-bit nonce, then the ciphertext and its tag, sealed with the
-- dedup key as associated data) when key_id is set, and the payload in clear when key_id is
-- null (a receiver without a record key).
CREATE TABLE prepared_deliveries (
    dedup_key        text        PRIMARY KEY,
    kind             text        NULL,
    incident_id      uuid        NULL,
    tenant           text        NULL,
    principal        text        NOT NULL,
    received_at      timestamptz NOT NULL,
    last_received_at timestamptz NOT NULL,
    deliveries       integer     NOT NULL,
    status           text        NOT NULL CHECK (status IN
                         ('received', 'processed', 'failed', 'dead_lettered', 'invalid')),
    attempts         integer     NOT NULL DEFAULT 0,
    last_error       text        NULL,
    updated_at       timestamptz NOT NULL,
    payload          bytea       NOT NULL,
    key_id           text        NULL
);

-- The filters of `find` (each ordered by first reception, as `find` returns them).
CREATE INDEX prepared_deliveries_incident ON prepared_deliveries (incident_id, received_at);
CREATE INDEX prepared_deliveries_tenant ON prepared_deliveries (tenant, received_at);
CREATE INDEX prepared_deliveries_kind ON prepared_deliveries (kind, received_at);
CREATE INDEX prepared_deliveries_status ON prepared_deliveries (status, received_at);
-- The retention's purge, oldest last reception first.
CREATE INDEX prepared_deliveries_last_received ON prepared_deliveries (last_received_at);
