//! Who may use the proxy and where it may forward: clients by address block, targets by name,
//! and the address actually connected to.
//!
//! A request is served only when its client's address lies in one of
//! [`ProxyConfig::clients`](crate::ProxyConfig::clients), its target is on the allow-list
//! ([`AllowRule`]: names, never address ranges, because package mirrors may resolve to reserved
//! or private addresses), and the address the proxy connects to is none of those a host must not
//! reach through it ([`Forbidden`]): loopback, link-local, unspecified, multicast and broadcast,
//! the testbed's range 198.18.0.0/15, or an address of this machine — whatever name leads there.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The ports an allow-list entry without a port opens: HTTP and HTTPS.
pub const WEB_PORTS: [u16; 2] = [80, 443];
/// The range every local testbed takes its addresses from (RFC 2544's benchmarking range).
pub const TESTBED_RANGE: IpCidr = IpCidr {
    network: IpAddr::V4(Ipv4Addr::new(198, 18, 0, 0)),
    len: 15,
};

/// An address block such as `198.18.0.0/20` (a bare address is a block of one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpCidr {
    network: IpAddr,
    len: u8,
}

impl IpCidr {
    /// The block of `len` leading bits of `address`; `None` when `len` is too long.
    pub fn new(address: IpAddr, len: u8) -> Option<Self> {
        let address = address.to_canonical();
        let bits = match address {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        (len <= bits).then(|| Self {
            network: mask(address, len),
            len,
        })
    }

    /// Whether `address` lies in the block (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        address.is_ipv4() == self.network.is_ipv4() && mask(address, self.len) == self.network
    }
}

/// `address` with every bit after the first `len` cleared.
fn mask(address: IpAddr, len: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let kept = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & kept))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let kept = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & kept))
        }
    }
}

impl fmt::Display for IpCidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.len)
    }
}

/// Why a text is not an address block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad address block '{text}': {why}")]
pub struct CidrError {
    text: String,
    why: &'static str,
}

impl FromStr for IpCidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |why| CidrError {
            text: text.to_owned(),
            why,
        };
        let (address, len) = match text.split_once('/') {
            Some((address, len)) => (
                address,
                Some(
                    len.parse::<u8>()
                        .map_err(|_| error("the prefix length is not a number"))?,
                ),
            ),
            None => (text, None),
        };
        let address: IpAddr = address
            .parse()
            .map_err(|_| error("expected an address such as 198.18.0.0/20"))?;
        let len = len.unwrap_or(if address.is_ipv4() { 32 } else { 128 });
        let block = Self::new(address, len).ok_or_else(|| error("the prefix is too long"))?;
        if block.network != address.to_canonical() {
            return Err(error("bits are set after the prefix"));
        }
        Ok(block)
    }
}

/// A host the proxy may forward to, as it appears in a URL or a `CONNECT`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Host {
    /// A DNS name, lowercase, without a trailing dot.
    Name(String),
    /// An IP literal.
    Ip(IpAddr),
}

impl Host {
    /// Reads the host part of a URL authority: `[v6]`, an IPv4 address or a name.
    fn of(text: &str) -> Self {
        let bare = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        match bare.parse::<IpAddr>() {
            Ok(ip) => Host::Ip(ip.to_canonical()),
            Err(_) => {
                let name = bare.strip_suffix('.').unwrap_or(bare);
                Host::Name(name.to_ascii_lowercase())
            }
        }
    }
}

/// Which hosts an allow-list entry names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Pattern {
    /// One host name or IP literal.
    Exact(Host),
    /// Every name under a domain (`*.example.org`), held as `.example.org`.
    Under(String),
}

/// One entry of the proxy's allow-list: `deb.debian.org`, `*.example.org`, `mirror.lan:8080`,
/// `192.0.2.7` or `[2001:db8::7]:8443`.
///
/// Entries name hosts, never address ranges. An entry without a port opens ports 80 and 443
/// ([`WEB_PORTS`]); with a port, that port only. `*.example.org` matches every name under
/// `example.org` (`a.example.org`, `b.a.example.org`), not `example.org` itself. An IP literal
/// matches only a request that names that same literal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AllowRule {
    pattern: Pattern,
    port: Option<u16>,
}

impl AllowRule {
    /// Whether a request for `host` (as written in the URL or `CONNECT`) on `port` may go on.
    pub fn permits(&self, host: &str, port: u16) -> bool {
        let port_ok = match self.port {
            Some(own) => own == port,
            None => WEB_PORTS.contains(&port),
        };
        port_ok
            && match (&self.pattern, Host::of(host)) {
                (Pattern::Exact(own), target) => *own == target,
                (Pattern::Under(suffix), Host::Name(name)) => {
                    name.len() > suffix.len() && name.ends_with(suffix.as_str())
                }
                (Pattern::Under(_), Host::Ip(_)) => false,
            }
    }
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pattern {
            Pattern::Exact(Host::Name(name)) => f.write_str(name)?,
            Pattern::Exact(Host::Ip(IpAddr::V4(v4))) => write!(f, "{v4}")?,
            Pattern::Exact(Host::Ip(IpAddr::V6(v6))) if self.port.is_some() => {
                write!(f, "[{v6}]")?;
            }
            Pattern::Exact(Host::Ip(IpAddr::V6(v6))) => write!(f, "{v6}")?,
            Pattern::Under(suffix) => write!(f, "*{suffix}")?,
        }
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

/// Why a text is not an allow-list entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad allow-list entry '{text}': {why}")]
pub struct AllowRuleError {
    text: String,
    why: String,
}

impl AllowRuleError {
    /// What is wrong with the entry, without the entry (`the port must be a number from 1 to
    /// 65535`): for messages that show the entry their own way.
    pub fn why(&self) -> &str {
        &self.why
    }
}

impl FromStr for AllowRule {
    type Err = AllowRuleError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = |why: &str| AllowRuleError {
            text: text.to_owned(),
            why: why.to_owned(),
        };
        let port = |digits: &str| match digits.parse::<u16>() {
            Ok(p) if p > 0 => Ok(Some(p)),
            _ => Err(error("the port must be a number from 1 to 65535")),
        };
        if let Some((_, rest)) = text.split_once("://") {
            let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
            return Err(error(&format!(
                "expected a host, not a URL: write `{host}`"
            )));
        }
        // `[v6]` or `[v6]:port`.
        if let Some(rest) = text.strip_prefix('[') {
            let (inside, after) = rest
                .split_once(']')
                .ok_or_else(|| error("a `[` without its `]`"))?;
            let ip: Ipv6Addr = inside
                .parse()
                .map_err(|_| error("expected an IPv6 address between `[` and `]`"))?;
            let port = match after {
                "" => None,
                _ => port(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| error("expected `:port` after `]`"))?,
                )?,
            };
            return Ok(Self {
                pattern: Pattern::Exact(Host::Ip(IpAddr::V6(ip).to_canonical())),
                port,
            });
        }
        // A bare IPv6 address (no port: use brackets for one).
        if let Ok(ip) = text.parse::<Ipv6Addr>() {
            return Ok(Self {
                pattern: Pattern::Exact(Host::Ip(IpAddr::V6(ip).to_canonical())),
                port: None,
            });
        }
        let (host, port) = match text.split_once(':') {
            Some((host, digits)) => (host, port(digits)?),
            None => (text, None),
        };
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Ok(Self {
                pattern: Pattern::Exact(Host::Ip(IpAddr::V4(ip))),
                port,
            });
        }
        let (wildcard, name) = match host.strip_prefix("*.") {
            Some(name) => (true, name),
            None => (false, host),
        };
        check_name(name).map_err(|why| error(&why))?;
        let name = name.to_ascii_lowercase();
        let pattern = if wildcard {
            Pattern::Under(format!(".{name}"))
        } else {
            Pattern::Exact(Host::Name(name))
        };
        Ok(Self { pattern, port })
    }
}

/// Checks a DNS host name: dot-separated labels of letters, digits and dashes.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("expected a host name such as deb.debian.org".to_owned());
    }
    if name.contains('*') {
        return Err("`*` may only start an entry, as in `*.example.org`".to_owned());
    }
    if name.len() > 253 {
        return Err("a host name has at most 253 characters".to_owned());
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err("a host name has no empty labels (`..`, or a dot at an end)".to_owned());
        }
        if label.len() > 63 {
            return Err("a label of a host name has at most 63 characters".to_owned());
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err("a host name holds only letters, digits, dashes and dots".to_owned());
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label of a host name does not start or end with a dash".to_owned());
        }
    }
    Ok(())
}

/// Whether `rules` let a request for `host` on `port` through.
pub(crate) fn allowed(rules: &[AllowRule], host: &str, port: u16) -> bool {
    rules.iter().any(|rule| rule.permits(host, port))
}

/// Why the proxy never connects to an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    /// `0.0.0.0/8` or `::` (Linux connects these to itself).
    Unspecified,
    /// `127.0.0.0/8` or `::1`.
    Loopback,
    /// `169.254.0.0/16` or `fe80::/10`.
    LinkLocal,
    /// The testbed's range, 198.18.0.0/15.
    Testbed,
    /// Multicast.
    Multicast,
    /// `255.255.255.255` or an interface's broadcast address.
    Broadcast,
    /// One of this machine's own addresses.
    ThisMachine,
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Forbidden::Unspecified => "an unspecified address",
            Forbidden::Loopback => "a loopback address",
            Forbidden::LinkLocal => "a link-local address",
            Forbidden::Testbed => "in the testbed's range 198.18.0.0/15",
            Forbidden::Multicast => "a multicast address",
            Forbidden::Broadcast => "a broadcast address",
            Forbidden::ThisMachine => "an address of this machine",
        })
    }
}

/// The addresses of this machine (of the network namespace the proxy runs in), as
/// [`judge`] needs them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalAddresses {
    /// Addresses of the interfaces.
    pub own: Vec<IpAddr>,
    /// Broadcast addresses of the interfaces.
    pub broadcast: Vec<IpAddr>,
}

impl LocalAddresses {
    /// Lists the interface addresses of the calling thread's network namespace now.
    pub fn now() -> io::Result<Self> {
        let mut found = Self::default();
        for interface in nix::ifaddrs::getifaddrs().map_err(io::Error::from)? {
            for (address, list) in [
                (interface.address, &mut found.own),
                (interface.broadcast, &mut found.broadcast),
            ] {
                let Some(address) = address else { continue };
                if let Some(v4) = address.as_sockaddr_in() {
                    list.push(IpAddr::V4(v4.ip()));
                } else if let Some(v6) = address.as_sockaddr_in6() {
                    list.push(IpAddr::V6(v6.ip()).to_canonical());
                }
            }
        }
        Ok(found)
    }
}

/// Why the proxy must not connect to `address`, if it must not. `loopback_upstreams` lets
/// loopback addresses through (tests only, see
/// [`ProxyConfig::loopback_upstreams`](crate::ProxyConfig::loopback_upstreams)).
pub fn judge(
    address: IpAddr,
    local: &LocalAddresses,
    loopback_upstreams: bool,
) -> Option<Forbidden> {
    let address = address.to_canonical();
    if address.is_loopback() {
        return (!loopback_upstreams).then_some(Forbidden::Loopback);
    }
    let kind = match address {
        IpAddr::V4(v4) if v4.octets()[0] == 0 => Some(Forbidden::Unspecified),
        IpAddr::V4(v4) if v4.is_link_local() => Some(Forbidden::LinkLocal),
        IpAddr::V4(v4) if v4.is_multicast() => Some(Forbidden::Multicast),
        IpAddr::V4(v4) if v4.is_broadcast() => Some(Forbidden::Broadcast),
        IpAddr::V4(_) if TESTBED_RANGE.contains(address) => Some(Forbidden::Testbed),
        IpAddr::V6(v6) if v6.is_unspecified() => Some(Forbidden::Unspecified),
        IpAddr::V6(v6) if v6.is_unicast_link_local() => Some(Forbidden::LinkLocal),
        IpAddr::V6(v6) if v6.is_multicast() => Some(Forbidden::Multicast),
        _ => None,
    };
    kind.or_else(|| {
        if local.own.contains(&address) {
            Some(Forbidden::ThisMachine)
        } else if local.broadcast.contains(&address) {
            Some(Forbidden::Broadcast)
        } else {
            None
        }
    })
}

/// Why the proxy refused a request (answered `403 Forbidden`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The client's address is outside the blocks the proxy serves.
    #[error("client {0} is outside the address blocks this proxy serves")]
    Client(IpAddr),
    /// The target is not on the allow-list.
    #[error("{target} is not on this proxy's allow-list")]
    NotAllowed {
        /// `host:port` as asked.
        target: String,
    },
    /// The target is, or its name leads to, an address the proxy never connects to.
    #[error("{target} leads to {address}, {kind}")]
    Address {
        /// `host:port` as asked.
        target: String,
        /// The address it leads to.
        address: IpAddr,
        /// Why that address is refused.
        kind: Forbidden,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> AllowRule {
        text.parse().unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn blocks_contain_their_addresses_only() {
        let block: IpCidr = "198.18.16.0/20".parse().unwrap();
        assert!(block.contains("198.18.16.1".parse().unwrap()));
        assert!(block.contains("198.18.31.254".parse().unwrap()));
        assert!(block.contains("::ffff:198.18.17.2".parse().unwrap()));
        assert!(!block.contains("198.18.32.1".parse().unwrap()));
        assert!(!block.contains("127.0.0.1".parse().unwrap()));
        assert!(!block.contains("::1".parse().unwrap()));
        let one: IpCidr = "192.0.2.7".parse().unwrap();
        assert_eq!(one.to_string(), "192.0.2.7/32");
        assert!(one.contains("192.0.2.7".parse().unwrap()));
        let everything: IpCidr = "0.0.0.0/0".parse().unwrap();
        assert!(everything.contains("203.0.113.80".parse().unwrap()));
        let v6: IpCidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains("fd00::2".parse().unwrap()));
        for bad in [
            "198.18.0.1/20",
            "198.18.0.0/33",
            "nope/8",
            "198.18.0.0/x",
            "",
        ] {
            assert!(bad.parse::<IpCidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn names_open_the_web_ports_and_ports_open_themselves() {
        let debian = rule("deb.debian.org");
        assert!(debian.permits("deb.debian.org", 80));
        assert!(debian.permits("DEB.Debian.org.", 443));
        assert!(!debian.permits("deb.debian.org", 22));
        assert!(!debian.permits("security.debian.org", 80));
        assert!(!debian.permits("deb.debian.org.evil.example", 80));
        let mirror = rule("mirror.lan:8080");
        assert!(mirror.permits("mirror.lan", 8080));
        assert!(!mirror.permits("mirror.lan", 80));
    }

    #[test]
    fn wildcards_match_names_under_a_domain_only() {
        let opendev = rule("*.opendev.org");
        assert!(opendev.permits("tarballs.opendev.org", 443));
        assert!(opendev.permits("a.b.opendev.org", 80));
        assert!(!opendev.permits("opendev.org", 443));
        assert!(!opendev.permits("evilopendev.org", 443));
        assert!(!opendev.permits("198.18.0.1", 443));
    }

    #[test]
    fn ip_literals_match_only_themselves() {
        let v4 = rule("192.0.2.7:3128");
        assert!(v4.permits("192.0.2.7", 3128));
        assert!(!v4.permits("192.0.2.8", 3128));
        let v6 = rule("[2001:db8::7]:8443");
        assert!(v6.permits("[2001:db8::7]", 8443));
        assert!(v6.permits("[2001:DB8:0::7]", 8443));
        let bare = rule("2001:db8::7");
        assert!(bare.permits("[2001:db8::7]", 443));
        assert!(!rule("deb.debian.org").permits("203.0.113.80", 80));
    }

    #[test]
    fn rules_print_as_they_are_read() {
        for text in [
            "deb.debian.org",
            "*.opendev.org",
            "mirror.lan:8080",
            "192.0.2.7",
            "192.0.2.7:3128",
            "2001:db8::7",
            "[2001:db8::7]:8443",
        ] {
            assert_eq!(rule(text).to_string(), text);
        }
        assert_eq!(rule("Deb.Debian.ORG").to_string(), "deb.debian.org");
    }

    #[test]
    fn bad_rules_say_why() {
        for (text, why) in [
            ("", "expected a host name"),
            ("*", "`*` may only start"),
            ("a.*.org", "`*` may only start"),
            ("*.", "expected a host name"),
            ("deb..org", "empty labels"),
            ("deb.org.", "empty labels"),
            ("-deb.org", "dash"),
            ("deb_org", "letters, digits"),
            ("http://deb.org/debian", "not a URL: write `deb.org`"),
            ("deb.org:0", "port must be a number"),
            ("deb.org:65536", "port must be a number"),
            ("[2001:db8::7", "without its"),
            ("[deb.org]", "IPv6 address"),
            ("[2001:db8::7]8443", "`:port`"),
        ] {
            let error = text.parse::<AllowRule>().unwrap_err().to_string();
            assert!(error.contains(why), "{text}: {error}");
        }
    }

    #[test]
    fn forbidden_addresses() {
        let local = LocalAddresses {
            own: vec!["192.0.2.2".parse().unwrap(), "fd00::2".parse().unwrap()],
            broadcast: vec!["192.0.2.255".parse().unwrap()],
        };
        let judged = |text: &str| judge(text.parse().unwrap(), &local, false);
        assert_eq!(judged("127.0.0.1"), Some(Forbidden::Loopback));
        assert_eq!(judged("127.4.5.6"), Some(Forbidden::Loopback));
        assert_eq!(judged("::1"), Some(Forbidden::Loopback));
        assert_eq!(judged("::ffff:127.0.0.1"), Some(Forbidden::Loopback));
        assert_eq!(judged("0.0.0.0"), Some(Forbidden::Unspecified));
        assert_eq!(judged("::"), Some(Forbidden::Unspecified));
        assert_eq!(judged("169.254.169.254"), Some(Forbidden::LinkLocal));
        assert_eq!(judged("fe80::1"), Some(Forbidden::LinkLocal));
        assert_eq!(judged("198.18.0.1"), Some(Forbidden::Testbed));
        assert_eq!(judged("198.19.255.254"), Some(Forbidden::Testbed));
        assert_eq!(judged("224.0.0.1"), Some(Forbidden::Multicast));
        assert_eq!(judged("ff02::1"), Some(Forbidden::Multicast));
        assert_eq!(judged("255.255.255.255"), Some(Forbidden::Broadcast));
        assert_eq!(judged("192.0.2.255"), Some(Forbidden::Broadcast));
        assert_eq!(judged("192.0.2.2"), Some(Forbidden::ThisMachine));
        assert_eq!(judged("fd00::2"), Some(Forbidden::ThisMachine));
        // Names are judged, not ranges: reserved and private addresses elsewhere are fine.
        for fine in [
            "203.0.113.80",
            "10.1.2.3",
            "192.168.1.1",
            "198.20.0.1",
            "fd00::3",
        ] {
            assert_eq!(judged(fine), None, "{fine}");
        }
        assert_eq!(judge("127.0.0.1".parse().unwrap(), &local, true), None);
        assert_eq!(
            judge("192.0.2.2".parse().unwrap(), &local, true),
            Some(Forbidden::ThisMachine)
        );
    }

    #[test]
    fn this_machine_has_a_loopback_address() {
        let local = LocalAddresses::now().unwrap();
        assert!(local.own.iter().any(IpAddr::is_loopback), "{:?}", local.own);
    }
}
