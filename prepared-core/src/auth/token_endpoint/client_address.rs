//! The address a token request comes from: the TCP peer the adapter hands over
//! ([`PeerAddr`]), or, behind a trusted proxy, the address the proxy says it forwarded for.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;

/// The TCP peer of a request, which the adapters put in the request's extensions
/// (`prepared-tower` from axum's `ConnectInfo<SocketAddr>` or a `SocketAddr` extension,
/// `prepared-actix` from `HttpRequest::peer_addr`). Insert it yourself when calling
/// [`TokenEndpoint::handle`](super::TokenEndpoint::handle) directly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

/// Which peers' `Forwarded` / `X-Forwarded-For` headers are believed.
#[derive(Clone, Debug, Default)]
pub(super) struct TrustedProxies(pub(super) Vec<IpAddr>);

impl TrustedProxies {
    /// The client's address: the peer's, unless the peer is a trusted proxy; then the
    /// nearest address of the forwarding chain that is not a trusted proxy (read from the
    /// right, where the trusted proxies appended it). `Forwarded` (RFC 7239) is read when
    /// present, `X-Forwarded-For` otherwise; a chain that does not parse gives the peer.
    pub(super) fn client_address(
        &self,
        peer: Option<IpAddr>,
        headers: &HeaderMap,
    ) -> Option<IpAddr> {
        let peer = peer?;
        if !self.0.contains(&peer) {
            return Some(peer);
        }
        let chain = if headers.contains_key(http::header::FORWARDED) {
            forwarded_for(headers)
        } else {
            x_forwarded_for(headers)
        };
        let Some(chain) = chain else {
            return Some(peer);
        };
        Some(
            chain
                .into_iter()
                .rev()
                .find(|address| !self.0.contains(address))
                .unwrap_or(peer),
        )
    }
}

/// The `for=` addresses of every `Forwarded` header, in order; `None` if one does not parse
/// (an obfuscated identifier or `unknown` included: then nothing is believed).
fn forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut chain = Vec::new();
    for value in headers.get_all(http::header::FORWARDED) {
        for element in value.to_str().ok()?.split(',') {
            for pair in element.split(';') {
                let Some((name, value)) = pair.trim().split_once('=') else {
                    continue;
                };
                if name.trim().eq_ignore_ascii_case("for") {
                    chain.push(node_address(value.trim().trim_matches('"'))?);
                }
            }
        }
    }
    Some(chain)
}

/// The addresses of every `X-Forwarded-For` header, in order; `None` if one does not parse.
fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    let mut chain = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        for address in value.to_str().ok()?.split(',') {
            chain.push(node_address(address.trim())?);
        }
    }
    Some(chain)
}

/// An address as proxies write it: `192.0.2.60`, `192.0.2.60:4711`, `2001:db8::17` or
/// `[2001:db8::17]:4711`.
fn node_address(node: &str) -> Option<IpAddr> {
    if let Ok(address) = node.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = node.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    node.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    http::HeaderName::from_static(name),
                    http::HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an IP")
    }

    #[test]
    fn the_nearest_untrusted_address_of_the_chain_is_the_client() {
        let proxies = TrustedProxies(vec![ip("10.0.0.9"), ip("10.0.0.10")]);
        let through = |pairs| proxies.client_address(Some(ip("10.0.0.9")), &headers(pairs));
        // A spoofed first hop before the real client is skipped from the right.
        let chain = [("x-forwarded-for", "192.0.2.66, 198.51.100.7, 10.0.0.10")];
        assert_eq!(through(&chain), Some(ip("198.51.100.7")));
        let forwarded = [(
            "forwarded",
            r#"for=192.0.2.43, for="[2001:db8:cafe::17]:4711""#,
        )];
        assert_eq!(through(&forwarded), Some(ip("2001:db8:cafe::17")));
        // `Forwarded` wins over X-Forwarded-For; a chain that does not parse gives the peer.
        let both = [
            ("forwarded", "for=192.0.2.1"),
            ("x-forwarded-for", "192.0.2.2"),
        ];
        assert_eq!(through(&both), Some(ip("192.0.2.1")));
        assert_eq!(
            through(&[("forwarded", "for=_hidden")]),
            Some(ip("10.0.0.9"))
        );
        assert_eq!(
            through(&[("x-forwarded-for", "not an ip")]),
            Some(ip("10.0.0.9"))
        );
        assert_eq!(through(&[]), Some(ip("10.0.0.9")));
        // An untrusted peer's headers are not read.
        let spoof = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(
            proxies.client_address(Some(ip("203.0.113.5")), &spoof),
            Some(ip("203.0.113.5"))
        );
        assert_eq!(proxies.client_address(None, &spoof), None);
    }
}
