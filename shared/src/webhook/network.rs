//! Which addresses a webhook may reach. Private, loopback, link-local, metadata, CGNAT, multicast and
//! the other special-purpose ranges are refused (IPv4-mapped IPv6 is judged as the IPv4 address it
//! carries), unless an operator lists a network in `WEBHOOK_ALLOWED_NETWORKS`.

use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkPolicy {
    allowed: Vec<IpNet>,
}

impl NetworkPolicy {
    pub fn new(allowed: Vec<IpNet>) -> Self {
        Self { allowed }
    }

    /// Parses a comma-separated CIDR list, e.g. `127.0.0.0/8, ::1/128`.
    pub fn parse_allowed(list: &str) -> Result<Vec<IpNet>, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .map_err(|_| format!("`{s}` is not a CIDR such as 127.0.0.0/8"))
            })
            .collect()
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allowed.iter().any(|net| net.contains(&ip)) || is_public(ip)
    }
}

/// An IPv4-mapped or IPv4-compatible IPv6 address as the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const BLOCKED: &[(u32, u8)] = &[
        (0x0000_0000, 8),  // 0.0.0.0/8 "this network"
        (0x0A00_0000, 8),  // 10.0.0.0/8 private
        (0x6440_0000, 10), // 100.64.0.0/10 carrier-grade NAT
        (0x7F00_0000, 8),  // 127.0.0.0/8 loopback
        (0xA9FE_0000, 16), // 169.254.0.0/16 link-local, cloud metadata
        (0xAC10_0000, 12), // 172.16.0.0/12 private
        (0xC000_0000, 24), // 192.0.0.0/24 IETF protocol assignments
        (0xC000_0200, 24), // 192.0.2.0/24 documentation
        (0xC058_6300, 24), // 192.88.99.0/24 6to4 relay
        (0xC0A8_0000, 16), // 192.168.0.0/16 private
        (0xC612_0000, 15), // 198.18.0.0/15 benchmarking
        (0xC633_6400, 24), // 198.51.100.0/24 documentation
        (0xCB00_7100, 24), // 203.0.113.0/24 documentation
        (0xE000_0000, 4),  // 224.0.0.0/4 multicast
        (0xF000_0000, 4),  // 240.0.0.0/4 reserved, broadcast
    ];
    let n = u32::from(ip);
    !BLOCKED.iter().any(|&(net, len)| n >> (32 - len) == net >> (32 - len))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    const BLOCKED: &[(u128, u8)] = &[
        (0, 128),                                        // :: unspecified
        (1, 128),                                        // ::1 loopback
        (0, 96),                                         // ::/96 IPv4-compatible (deprecated)
        (0x0064_ff9b_0000_0000_0000_0000_0000_0000, 96), // 64:ff9b::/96 NAT64
        (0x0064_ff9b_0001_0000_0000_0000_0000_0000, 48), // 64:ff9b:1::/48 local NAT64
        (0x0100_0000_0000_0000_0000_0000_0000_0000, 64), // 100::/64 discard
        (0x2001_0000_0000_0000_0000_0000_0000_0000, 23), // 2001::/23 IETF protocol assignments
        (0x2001_0db8_0000_0000_0000_0000_0000_0000, 32), // 2001:db8::/32 documentation
        (0x2002_0000_0000_0000_0000_0000_0000_0000, 16), // 2002::/16 6to4
        (0xfc00_0000_0000_0000_0000_0000_0000_0000, 7),  // fc00::/7 unique local
        (0xfe80_0000_0000_0000_0000_0000_0000_0000, 10), // fe80::/10 link-local
        (0xfec0_0000_0000_0000_0000_0000_0000_0000, 10), // fec0::/10 site-local (deprecated)
        (0xff00_0000_0000_0000_0000_0000_0000_0000, 8),  // ff00::/8 multicast
    ];
    let n = u128::from(ip);
    !BLOCKED.iter().any(|&(net, len)| n >> (128 - len) == net >> (128 - len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        !NetworkPolicy::default().permits(ip.parse().unwrap())
    }

    #[test]
    fn special_ranges_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::7f00:1",
            "ff02::1",
            "2001:db8::1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!refused(ip), "{ip} should pass");
        }
    }

    #[test]
    fn the_allow_list_opens_listed_networks_only() {
        let policy = NetworkPolicy::new(NetworkPolicy::parse_allowed("127.0.0.0/8, ::1/128").unwrap());
        assert!(policy.permits("127.0.0.1".parse().unwrap()));
        assert!(policy.permits("::ffff:127.0.0.1".parse().unwrap()));
        assert!(policy.permits("::1".parse().unwrap()));
        assert!(!policy.permits("10.0.0.1".parse().unwrap()));
        assert!(NetworkPolicy::parse_allowed("127.0.0.1/33").is_err());
        assert!(NetworkPolicy::parse_allowed("").unwrap().is_empty());
    }
}
