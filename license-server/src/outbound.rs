//! Outbound HTTP to URLs that tenants choose (webhook endpoints), which must not become a way
//! into the operator's own network (server-side request forgery).
//!
//! The policy, unless the operator allows private addresses (`FOUNT_ALLOW_PRIVATE_URLS`, for
//! receivers on its own network):
//!
//! * only `http` and `https` URLs with a host and without credentials;
//! * a host given as an address must be a public one ([`is_public`]);
//! * a host given as a name is resolved at each request, by the client's own resolver, and
//!   the connection goes only to the public addresses among the answers; a name with none is
//!   refused. Checking at connection time rather than beforehand leaves no gap between the
//!   check and the use for a name whose answer changes (DNS rebinding);
//! * redirects are not followed (a 3xx is the answer), proxies from the environment are not
//!   used, no cookie is kept, and no header of Fount's own (no credential) is ever sent:
//!   the caller adds what it means to send.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Longest URL a tenant may give.
pub const MAX_URL_LEN: usize = 2048;

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The TLS configuration.
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// The HTTP client.
    #[error("HTTP client: {0}")]
    Http(#[from] reqwest::Error),
}

/// Why a URL may not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    /// Not a URL.
    #[error("not a URL: {0}")]
    Invalid(String),
    /// Longer than [`MAX_URL_LEN`].
    #[error("longer than {MAX_URL_LEN} characters")]
    TooLong,
    /// Not http or https.
    #[error("only http and https URLs are allowed")]
    Scheme,
    /// With a user name or password.
    #[error("the URL may not carry a user name or password")]
    Credentials,
    /// With no host.
    #[error("the URL has no host")]
    NoHost,
    /// A host that is, or resolves only to, a private, loopback, link-local or otherwise
    /// non-public address.
    #[error("{0} is not a public address")]
    Private(IpAddr),
    /// A name that resolves to no address at all.
    #[error("{0} has no address")]
    Unresolvable(String),
}

/// The outbound HTTP client and its policy.
#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    allow_private: bool,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound").field("allow_private", &self.allow_private).finish_non_exhaustive()
    }
}

impl Outbound {
    /// A client whose requests take at most `timeout`, connection included. TLS is rustls
    /// with ring, trusting the Mozilla roots of `webpki-roots`.
    pub fn new(allow_private: bool, timeout: Duration) -> Result<Self, ClientError> {
        Self::build(allow_private, timeout, None)
    }

    /// A client for long transfers (feeds' enclosures): a whole request may take `total`,
    /// but a transfer that sends nothing for `stall` fails.
    pub fn for_downloads(allow_private: bool, total: Duration, stall: Duration) -> Result<Self, ClientError> {
        Self::build(allow_private, total, Some(stall))
    }

    fn build(allow_private: bool, timeout: Duration, stall: Option<Duration>) -> Result<Self, ClientError> {
        let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut builder = reqwest::Client::builder();
        if let Some(stall) = stall {
            builder = builder.read_timeout(stall);
        }
        let client = builder
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Fount-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(GuardedResolver { allow_private })
            .tls_backend_preconfigured(tls)
            .build()?;
        Ok(Outbound { client, allow_private })
    }

    /// The client (for requests to URLs that passed [`check`](Self::check)).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Whether private addresses are allowed.
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Checks a URL's form, and its host when it is an address.
    pub fn check(&self, url: &str) -> Result<url::Url, UrlRefused> {
        if url.len() > MAX_URL_LEN {
            return Err(UrlRefused::TooLong);
        }
        let parsed = url::Url::parse(url).map_err(|e| UrlRefused::Invalid(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(UrlRefused::Scheme);
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(UrlRefused::Credentials);
        }
        let ip = match parsed.host() {
            None => return Err(UrlRefused::NoHost),
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
        };
        if let Some(ip) = ip
            && !self.allow_private
            && !is_public(ip)
        {
            return Err(UrlRefused::Private(ip));
        }
        Ok(parsed)
    }

    /// [`check`](Self::check), then resolves a named host now and refuses it when every
    /// address it has is non-public (an early answer for the store; each request checks
    /// again). A name that does not resolve now is accepted: it may by the first delivery.
    pub async fn check_now(&self, url: &str) -> Result<url::Url, UrlRefused> {
        let parsed = self.check(url)?;
        if let (Some(url::Host::Domain(name)), false) = (parsed.host(), self.allow_private) {
            let port = parsed.port_or_known_default().unwrap_or(443);
            let lookup = tokio::time::timeout(Duration::from_secs(5), tokio::net::lookup_host((name, port))).await;
            if let Ok(Ok(addrs)) = lookup {
                let addrs: Vec<SocketAddr> = addrs.collect();
                if let Some(first) = addrs.first()
                    && addrs.iter().all(|a| !is_public(a.ip()))
                {
                    return Err(UrlRefused::Private(first.ip()));
                }
            }
        }
        Ok(parsed)
    }
}

/// The error a refused connection carries (found again in the request's error chain).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub UrlRefused);

/// What went wrong with a request, as a line for the store: refused by the policy, timed
/// out, or failed to connect, with the cause.
pub fn describe(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<Refused>() {
            return format!("refused: {refused}");
        }
        source = s.source();
    }
    if e.is_timeout() {
        return "timed out".into();
    }
    let mut text = if e.is_connect() { "could not connect".to_owned() } else { "request failed".to_owned() };
    let mut source = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(cause) = last {
        text.push_str(": ");
        text.push_str(&cause);
    }
    text
}

/// Resolves with the system resolver, keeping public addresses only.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let Some(first) = found.first().copied() else {
                return Err(
                    Box::new(Refused(UrlRefused::Unresolvable(host))) as Box<dyn std::error::Error + Send + Sync>
                );
            };
            let usable: Vec<SocketAddr> = found.into_iter().filter(|a| allow_private || is_public(a.ip())).collect();
            if usable.is_empty() {
                return Err(
                    Box::new(Refused(UrlRefused::Private(first.ip()))) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(usable.into_iter()) as Addrs)
        })
    }
}

/// Whether an address is on the public internet: not unspecified, loopback, private (RFC
/// 1918, unique local), shared (CGNAT), link-local, multicast, broadcast, documentation,
/// benchmarking or reserved. IPv4 addresses inside IPv6 (mapped, NAT64) are judged as IPv4.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = a == 0                                   // "this network"
        || a == 10                                         // private
        || a == 127                                        // loopback
        || (a == 100 && (64..=127).contains(&b))           // shared address space (CGNAT)
        || (a == 169 && b == 254)                          // link-local
        || (a == 172 && (16..=31).contains(&b))            // private
        || (a == 192 && b == 0 && c == 0)                  // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)                  // documentation
        || (a == 192 && b == 88 && c == 99)                // 6to4 relay anycast
        || (a == 192 && b == 168)                          // private
        || (a == 198 && (18..=19).contains(&b))            // benchmarking
        || (a == 198 && b == 51 && c == 100)               // documentation
        || (a == 203 && b == 0 && c == 113)                // documentation
        || a >= 224; // multicast, reserved, broadcast
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96): the IPv4 address it carries decides.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|x| *x == 0) {
        let [.., hi, lo] = s;
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00                       // unique local
        || (s[0] & 0xffc0) == 0xfe80                       // link-local
        || (s[0] & 0xffc0) == 0xfec0                       // site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8)              // documentation
        || (s[0] == 0x0100 && s[1..4].iter().all(|x| *x == 0)) // discard-only
        || s[0..6].iter().all(|x| *x == 0); // IPv4-compatible (deprecated) and the rest of ::/96
    !special
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for a in [
            "0.0.0.0",
            "10.1.2.3",
            "127.0.0.1",
            "100.64.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "::127.0.0.1",
            "100::1",
        ] {
            assert!(!is_public(ip(a)), "{a} should not be public");
        }
        for a in
            ["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:1.1.1.1", "64:ff9b::808:808"]
        {
            assert!(is_public(ip(a)), "{a} should be public");
        }
    }

    #[test]
    fn urls_are_checked_for_form_and_literal_addresses() {
        let out = Outbound::new(false, Duration::from_secs(5)).expect("client");
        assert!(out.check("https://hooks.example.com/fount").is_ok());
        assert_eq!(out.check("ftp://example.com/").unwrap_err(), UrlRefused::Scheme);
        assert_eq!(out.check("https://user:pw@example.com/").unwrap_err(), UrlRefused::Credentials);
        assert_eq!(out.check("http://127.0.0.1:9/x").unwrap_err(), UrlRefused::Private(ip("127.0.0.1")));
        assert_eq!(out.check("http://[::1]/x").unwrap_err(), UrlRefused::Private(ip("::1")));
        // Other spellings of loopback are normalised by the URL parser, and refused too.
        assert_eq!(out.check("http://2130706433/").unwrap_err(), UrlRefused::Private(ip("127.0.0.1")));
        assert_eq!(out.check("http://0x7f.1/").unwrap_err(), UrlRefused::Private(ip("127.0.0.1")));
        assert!(matches!(out.check("not a url"), Err(UrlRefused::Invalid(_))));
        assert_eq!(out.check(&format!("https://e.com/{}", "a".repeat(MAX_URL_LEN))).unwrap_err(), UrlRefused::TooLong);
        let open = Outbound::new(true, Duration::from_secs(5)).expect("client");
        assert!(open.check("http://127.0.0.1:9/x").is_ok());
    }
}
