//! Where the gateway may send requests, and how much of an answer it reads.
//!
//! Every outbound request (webhooks, connectors, the notification hook) goes
//! through [`http_client`]: its DNS resolver drops addresses that are not
//! public unless `[delivery] allowed_networks` allows them, and
//! [`check_url`] refuses a URL whose host is such an address written out
//! (an IP literal never reaches the resolver). The check is on the address
//! actually connected to, so a name that resolves to 127.0.0.1 or
//! 169.254.169.254 is refused as surely as the literal. No proxy from the
//! environment is used (a proxy would connect elsewhere than checked) and
//! redirects are not followed.
//!
//! Answers are read with [`read_bounded`]: a channel cannot make the
//! gateway buffer more than it keeps.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

/// Networks outbound requests may reach besides public addresses
/// (`[delivery] allowed_networks`).
#[derive(Clone, Debug, Default)]
pub struct AllowedNetworks(Arc<Vec<IpNet>>);

impl AllowedNetworks {
    pub fn new(networks: Vec<IpNet>) -> AllowedNetworks {
        AllowedNetworks(Arc::new(networks))
    }

    /// The networks `[delivery] allowed_networks` configures.
    pub fn of(settings: &crate::config::DeliverySettings) -> AllowedNetworks {
        AllowedNetworks::new(settings.allowed_networks.clone())
    }

    /// Whether a request may connect to `ip`: a public unicast address, or
    /// one inside a configured network.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip)) || is_public(ip)
    }

    /// Refuses `url` if its host is an IP address that may not be reached
    /// (names are checked when they are resolved); the reason in Chinese.
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), String> {
        let Some(host) = url.host_str() else {
            return Err("目标地址缺少主机名".into());
        };
        // The URL parser has already normalised IPv4 forms (`0x7f.1`) and
        // bracketed IPv6 hosts.
        match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Ok(ip) if !self.permits(ip) => Err(refusal(ip)),
            _ => Ok(()),
        }
    }
}

fn refusal(ip: IpAddr) -> String {
    format!("目标地址 {ip} 属于本机、内网或保留地址，未在配置 [delivery] allowed_networks 中允许，已拒绝连接")
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A globally reachable unicast address: not loopback, private, link-local,
/// shared (CGNAT), documentation, benchmarking, multicast, reserved or
/// unspecified, and no IPv6 form that embeds such an IPv4 address
/// (IANA's special-purpose address registries).
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0                                  // 0.0.0.0/8 "this network"
        || (a == 100 && (64..128).contains(&b))    // 100.64.0.0/10 shared address space
        || (a == 192 && b == 0 && c == 0)          // 192.0.0.0/24 protocol assignments
        || (a == 198 && (b == 18 || b == 19))      // 198.18.0.0/15 benchmarking
        || a >= 240) // 240.0.0.0/4 reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8);
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        return is_public_v4(embedded_v4(s[6], s[7])); // 64:ff9b::/96 NAT64
    }
    if s[0] == 0x2002 {
        return is_public_v4(embedded_v4(s[1], s[2])); // 2002::/16 6to4
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00                // fc00::/7 unique local
        || (s[0] & 0xffc0) == 0xfe80                // fe80::/10 link-local
        || (s[0] & 0xffc0) == 0xfec0                // fec0::/10 site-local (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8)       // 2001:db8::/32 documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // 100::/64 discard
        || s[..6] == [0, 0, 0, 0, 0, 0]) // ::/96 IPv4-compatible (deprecated)
}

/// The resolver of [`http_client`]: the system's, minus what may not be reached.
struct GuardedResolver {
    allowed: AllowedNetworks,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found.iter().copied().filter(|a| allowed.permits(a.ip())).collect();
            match (permitted.is_empty(), found.first()) {
                (false, _) => Ok(Box::new(permitted.into_iter()) as reqwest::dns::Addrs),
                (true, Some(first)) => Err(format!("{host}：{}", refusal(first.ip())).into()),
                (true, None) => Err(format!("无法解析主机名 {host}").into()),
            }
        })
    }
}

/// The HTTP client of every outbound request (channel endpoints,
/// connectors, the notification hook): `http://` and `https://` (rustls,
/// the system's trust store, so an agency's own CA is trusted once it is
/// installed there), a timeout, no redirects (a channel endpoint that moves
/// must be changed by an administrator, not followed), no proxy from the
/// environment, and only addresses `allowed` permits.
pub fn http_client(timeout: Duration, allowed: &AllowedNetworks) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { allowed: allowed.clone() }))
        .build()
        .expect("the HTTP client builds (rustls with the system's trust store)")
}

/// Sends `request` after checking its URL against `allowed`; a refusal or
/// transport error as text for the delivery log (Chinese where ours;
/// without URLs or tokens).
pub async fn send(allowed: &AllowedNetworks, request: reqwest::RequestBuilder) -> Result<reqwest::Response, String> {
    let (client, request) = request.build_split();
    let request = request.map_err(super::error_text)?;
    allowed.check_url(request.url())?;
    client.execute(request).await.map_err(super::error_text)
}

/// Reads at most `limit` bytes of an answer's body; the rest is not read
/// (the connection is dropped). A body cut short by the peer yields what
/// arrived.
pub async fn read_bounded(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]),
            Ok(None) | Err(_) => break,
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_not_public() {
        for internal in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip(internal)), "{internal}");
        }
        for public in ["1.1.1.1", "203.119.0.1", "2400:3200::1", "::ffff:1.1.1.1", "2002:0101:0101::"] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn allowed_networks_open_exactly_their_range() {
        let allowed = AllowedNetworks::new(vec!["127.0.0.0/8".parse().unwrap()]);
        assert!(allowed.permits(ip("127.0.0.1")));
        assert!(allowed.permits(ip("::ffff:127.0.0.2")));
        assert!(!allowed.permits(ip("::1")));
        assert!(!allowed.permits(ip("10.0.0.1")));
        let url = |s: &str| reqwest::Url::parse(s).unwrap();
        assert!(allowed.check_url(&url("http://127.0.0.1:9/x")).is_ok());
        assert!(allowed.check_url(&url("http://[::1]:9/x")).unwrap_err().contains("allowed_networks"));
        assert!(allowed.check_url(&url("http://169.254.169.254/latest")).is_err());
        assert!(allowed.check_url(&url("http://0x7f.1/")).is_ok(), "parsed as 127.0.0.1 by the URL standard");
        assert!(AllowedNetworks::default().check_url(&url("http://0x7f.1/")).is_err());
        assert!(AllowedNetworks::default().check_url(&url("http://example.gov.cn/")).is_ok(), "names: at resolution");
    }

    /// An answer that never ends is read up to the bound, not buffered.
    #[tokio::test]
    async fn endless_answers_are_read_with_a_bound() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket.write_all(b"HTTP/1.1 500 Oops\r\ntransfer-encoding: chunked\r\n\r\n").await;
            let chunk = format!("{:x}\r\n{}\r\n", 4096, "x".repeat(4096));
            while socket.write_all(chunk.as_bytes()).await.is_ok() {}
        });
        let allowed = AllowedNetworks::new(vec!["127.0.0.0/8".parse().unwrap()]);
        let client = http_client(Duration::from_secs(5), &allowed);
        let response = send(&allowed, client.get(format!("http://{addr}/"))).await.unwrap();
        let body = tokio::time::timeout(Duration::from_secs(5), read_bounded(response, 10_000)).await.unwrap();
        assert_eq!(body.len(), 10_000);
    }

    #[tokio::test]
    async fn names_that_resolve_inside_are_refused_at_connect_time() {
        let client = http_client(Duration::from_secs(2), &AllowedNetworks::default());
        let err = client.get("http://localhost:9/").send().await.unwrap_err();
        assert!(super::super::error_text(err).contains("allowed_networks"));
    }
}
