-- wrk script for scripts/bench-load.sh: every request is a Prepared `caller_location`
-- delivery in the documented shape (prepared-core/fixtures/caller_location.json) with its own
-- event id, sent as `POST` with `Authorization: Bearer <token>` and
-- `Content-Type: application/json`.
--
--   wrk -s scripts/load/caller_location.lua URL -- TOKEN DUP_PERCENT RUN_TAG
--
-- TOKEN        the bearer token the server expects;
-- DUP_PERCENT  the share of requests (0-100) that resend an event sent recently, byte for
--              byte, as Prepared's redeliveries do (0: every request is a new event);
-- RUN_TAG      8 hex digits, different for every wrk run (the first group of every event id),
--              so that the ids of one run never repeat those of an earlier run on the same
--              server (the warm-up, say).
--
-- Event ids are UUIDs: RUN_TAG, the wrk thread, random bits drawn per thread, and a
-- per-thread counter. The events cycle over 16 incidents, with slightly moving coordinates.
-- A duplicate repeats one of the events sent between DUP_MIN_AGE and DUP_MAX_AGE requests
-- earlier on the same thread: recent, yet old enough that its first delivery was answered
-- (at most one request per connection is in flight).
--
-- done() prints one machine-readable line, `WRK_RESULT key=value ...`, that
-- scripts/bench-load.sh parses (latencies in microseconds).

local DUP_MIN_AGE = 256
local DUP_MAX_AGE = 2048
local INCIDENTS = 16

local threads = {}
local counter = 0

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local token = args[1]
  dup_percent = tonumber(args[2] or "0")
  local run_tag = args[3]
  if token == nil or dup_percent == nil or run_tag == nil or not run_tag:match("^%x%x%x%x%x%x%x%x$") then
    error("usage: wrk -s caller_location.lua URL -- TOKEN DUP_PERCENT RUN_TAG(8 hex digits)")
  end
  local index = tonumber(thread_index) or 0
  math.randomseed(os.time() + index * 7919 + tonumber(run_tag, 16) % 1000003)
  -- The id's groups 1-4 are fixed per thread (version 4, variant 10xx); group 5 counts.
  id_prefix = string.format("%s-%04x-4%03x-%04x-", run_tag:lower(), index % 0x10000,
    math.random(0, 0xfff), 0x8000 + math.random(0, 0x3fff))
  headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
  }
  created_at = os.date("!%Y-%m-%dT%H:%M:%S.000+00:00")
  sent = {}
  sent_count = 0
end

local function new_event()
  counter = counter + 1
  local id = string.format("%s%06x%06x", id_prefix, math.floor(counter / 0x1000000) % 0x1000000,
    counter % 0x1000000)
  local incident = string.format("550e8400-e29b-41d4-a716-4466554400%02x", counter % INCIDENTS)
  local wiggle = (counter % 1000) / 100000
  return string.format(
    '{"type":"caller_location","id":"%s","incident_id":"%s","lat":%.6f,"lng":%.6f,' ..
    '"class_of_service":"WPH2","created_at":"%s","source":"ani_ali"}',
    id, incident, 37.7749 + wiggle, -122.4194 - wiggle, created_at)
end

function request()
  if dup_percent > 0 and sent_count > DUP_MIN_AGE and math.random() * 100 < dup_percent then
    local oldest = math.min(sent_count, DUP_MAX_AGE)
    local age = math.random(DUP_MIN_AGE, oldest)
    -- A resend is not recorded again: duplicates repeat first deliveries only.
    return sent[(sent_count - age) % DUP_MAX_AGE + 1]
  end
  local req = wrk.format("POST", nil, headers, new_event())
  sent[sent_count % DUP_MAX_AGE + 1] = req
  sent_count = sent_count + 1
  return req
end

function done(summary, latency, requests)
  local errors = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "non2xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests, summary.duration, summary.requests / seconds,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    errors.status, errors.connect, errors.read, errors.write, errors.timeout))
end
