//! The parameters as typed values, checked without touching the system (so validate-all's
//! internal checks and every error message are unit-tested), and the route choice made from a
//! route dump.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use ocf::{OcfError, Values};

use crate::netlink::RouteEntry;
use crate::{
    ARP_BG, ARP_COUNT, ARP_COUNT_REFRESH, ARP_INTERVAL, ARPING_TIMEOUT, BROADCAST,
    CHECK_LINK_STATUS, CIDR_NETMASK, IFLABEL, IP, NIC, NODAD, NOPREFIXROUTE, PREFERRED_LFT,
    RUN_ARPING,
};

/// How the prefix length is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Prefix {
    /// `cidr_netmask` was given.
    Given(u8),
    /// From the covering route.
    FromRoute,
    /// /64 for an IPv6 link-local address.
    LinkLocalDefault,
}

/// IPv4 broadcast setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Broadcast {
    /// Computed from the prefix (`+` or empty).
    Computed,
    /// None (`-`).
    None,
    /// An explicit address.
    Fixed(Ipv4Addr),
}

/// The agent's parameters, typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Settings {
    /// The address.
    pub(crate) ip: IpAddr,
    /// The interface, when given.
    pub(crate) nic: Option<String>,
    /// The prefix length or where it comes from.
    pub(crate) prefix: Prefix,
    /// IPv4 broadcast.
    pub(crate) broadcast: Broadcast,
    /// Label suffix (`iflabel`).
    pub(crate) iflabel: Option<String>,
    /// Announcements on start.
    pub(crate) arp_count: u32,
    /// Pause between announcements.
    pub(crate) arp_interval: Duration,
    /// Send all but the first announcement from a detached child.
    pub(crate) arp_bg: bool,
    /// Announcements per recurring monitor.
    pub(crate) arp_count_refresh: u32,
    /// IPv4 duplicate probe before adding.
    pub(crate) run_arping: bool,
    /// How long the probe listens.
    pub(crate) arping_timeout: Duration,
    /// IPv6: no DAD.
    pub(crate) nodad: bool,
    /// No prefix route.
    pub(crate) noprefixroute: bool,
    /// IPv6 preferred lifetime in seconds; `None` = forever.
    pub(crate) preferred_lft: Option<u32>,
    /// A down link counts as not running.
    pub(crate) check_link_status: bool,
}

/// IPaddr2 parameters with behaviour this agent does not implement: refused when set, so a
/// migrated configuration cannot silently lose a feature.
const UNSUPPORTED: &[&str] = &[
    "lvs_support",
    "lvs_ipv6_addrlabel",
    "mac",
    "clusterip_hash",
    "unique_clone_address",
    "network_namespace",
    "flush_routes",
    "arp_sender",
    "send_arp_opts",
    "proto",
];

fn bad(name: &str, msg: String) -> OcfError {
    OcfError::configured(format!("parameter '{name}': {msg}"))
}

/// Prefix length from `cidr_netmask`: a number, or an IPv4 dotted mask with contiguous bits.
fn parse_prefix(text: &str, ip: IpAddr) -> Result<u8, OcfError> {
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let text = text.trim();
    if let Ok(n) = text.parse::<u8>() {
        if (1..=max).contains(&n) {
            return Ok(n);
        }
        return Err(bad(
            CIDR_NETMASK.name,
            format!("{n} is not a prefix length between 1 and {max}"),
        ));
    }
    if let (IpAddr::V4(_), Ok(mask)) = (ip, text.parse::<Ipv4Addr>()) {
        let bits = u32::from(mask);
        let len = bits.leading_ones();
        if bits.count_ones() == len && len > 0 {
            return Ok(u8::try_from(len).unwrap_or(32));
        }
        return Err(bad(CIDR_NETMASK.name, format!("{mask} is not a contiguous netmask")));
    }
    Err(bad(CIDR_NETMASK.name, format!("'{text}' is not a prefix length between 1 and {max}")))
}

fn is_link_local(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && name.chars().all(|c| !c.is_whitespace() && c != '/' && c != ':')
}

impl Settings {
    /// Check and type the parameters (OCF_ERR_CONFIGURED naming the parameter on error).
    pub(crate) fn from_values(values: &Values<'_>) -> Result<Settings, OcfError> {
        if let Some(name) = values.unknown().into_iter().find(|n| UNSUPPORTED.contains(n)) {
            return Err(bad(
                name,
                "this IPaddr2 option is not supported by ocf:ferroha:vip".into(),
            ));
        }
        let raw_ip = values.str(&IP).trim();
        if raw_ip.contains('/') {
            return Err(bad(IP.name, format!("'{raw_ip}' has a prefix; put it in cidr_netmask")));
        }
        let ip: IpAddr = raw_ip
            .parse()
            .map_err(|_| bad(IP.name, format!("'{raw_ip}' is not an IPv4 or IPv6 address")))?;
        if ip.is_unspecified() || ip.is_multicast() || ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
            return Err(bad(IP.name, format!("{ip} cannot be assigned to an interface")));
        }
        let nic = values.opt_str(&NIC).map(str::trim).map(str::to_owned);
        if let Some(n) = &nic {
            if n.contains(':') {
                return Err(bad(
                    NIC.name,
                    format!("'{n}': the nic:label form is not supported; use iflabel"),
                ));
            }
            if !valid_ifname(n) {
                return Err(bad(NIC.name, format!("'{n}' is not a valid interface name")));
            }
        }
        if is_link_local(ip) && nic.is_none() {
            return Err(bad(NIC.name, format!("must be set for the link-local address {ip}")));
        }
        let prefix = match values.opt_str(&CIDR_NETMASK) {
            Some(t) => Prefix::Given(parse_prefix(t, ip)?),
            None if is_link_local(ip) => Prefix::LinkLocalDefault,
            None => Prefix::FromRoute,
        };
        let broadcast = match values.opt_str(&BROADCAST).map(str::trim) {
            None | Some("+") => Broadcast::Computed,
            Some("-") => Broadcast::None,
            Some(t) if ip.is_ipv4() => Broadcast::Fixed(t.parse().map_err(|_| {
                bad(BROADCAST.name, format!("'{t}' is not an IPv4 address, + or -"))
            })?),
            Some(_) => return Err(bad(BROADCAST.name, "applies to IPv4 addresses only".into())),
        };
        let iflabel = values.opt_str(&IFLABEL).map(str::trim).map(str::to_owned);
        if let Some(l) = &iflabel {
            if ip.is_ipv6() {
                return Err(bad(IFLABEL.name, "labels apply to IPv4 addresses only".into()));
            }
            if l.chars().any(|c| c.is_whitespace() || c == '/') {
                return Err(bad(IFLABEL.name, format!("'{l}' is not a valid label")));
            }
        }
        let preferred_lft = match values.opt_str(&PREFERRED_LFT).map(str::trim) {
            None | Some("forever") => None,
            Some(t) if ip.is_ipv6() => Some(t.parse::<u32>().map_err(|_| {
                bad(PREFERRED_LFT.name, format!("'{t}' is neither a number of seconds nor forever"))
            })?),
            Some(_) => {
                return Err(bad(PREFERRED_LFT.name, "applies to IPv6 addresses only".into()));
            }
        };
        Ok(Settings {
            ip,
            nic,
            prefix,
            broadcast,
            iflabel,
            arp_count: values.num(&ARP_COUNT),
            arp_interval: values.millis(&ARP_INTERVAL),
            arp_bg: values.flag(&ARP_BG),
            arp_count_refresh: values.num(&ARP_COUNT_REFRESH),
            run_arping: values.flag(&RUN_ARPING),
            arping_timeout: values.millis(&ARPING_TIMEOUT),
            nodad: values.flag(&NODAD),
            noprefixroute: values.flag(&NOPREFIXROUTE),
            preferred_lft,
            check_link_status: values.flag(&CHECK_LINK_STATUS),
        })
    }

    /// The full label for `nic`, when `iflabel` is set.
    pub(crate) fn label(&self, nic: &str) -> Option<String> {
        self.iflabel.as_ref().map(|l| format!("{nic}:{l}"))
    }

    /// The IPv4 broadcast address to set for `prefix`.
    pub(crate) fn broadcast_for(&self, prefix: u8) -> Option<Ipv4Addr> {
        let IpAddr::V4(v4) = self.ip else { return None };
        match self.broadcast {
            Broadcast::None => None,
            Broadcast::Fixed(b) => Some(b),
            // /31 and /32 have no broadcast address (RFC 3021).
            Broadcast::Computed if prefix >= 31 => None,
            Broadcast::Computed => {
                let host_bits = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
                Some(Ipv4Addr::from(u32::from(v4) | host_bits))
            }
        }
    }
}

fn covers(dst: IpAddr, prefix: u8, ip: IpAddr) -> bool {
    match (dst, ip) {
        (IpAddr::V4(d), IpAddr::V4(i)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0);
            u32::from(d) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(d), IpAddr::V6(i)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix.min(128))).unwrap_or(0);
            u128::from(d) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// The route IPaddr2's findif would pick for `ip`: a directly connected (no gateway, like findif's
/// `scope link`) unicast route of the main table (254) that covers it, not the default route,
/// optionally via `oif`; the longest prefix, then the lowest metric.
pub(crate) fn covering_route(
    routes: &[RouteEntry],
    ip: IpAddr,
    oif: Option<u32>,
) -> Option<&RouteEntry> {
    routes
        .iter()
        .filter(|r| r.unicast && r.table == 254 && r.prefix > 0 && r.oif.is_some())
        .filter(|r| r.gateway.is_none())
        .filter(|r| oif.is_none_or(|o| r.oif == Some(o)))
        .filter(|r| covers(r.dst, r.prefix, ip))
        .max_by(|a, b| a.prefix.cmp(&b.prefix).then(b.metric.cmp(&a.metric)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::{OcfCode, OcfEnv};

    fn parse(pairs: &[(&str, &str)]) -> Result<Settings, OcfError> {
        let env = OcfEnv::from_params(pairs);
        let values = Values::parse(crate::PARAMS, &env)?;
        Settings::from_values(&values)
    }

    fn reason(pairs: &[(&str, &str)]) -> String {
        let err = parse(pairs).unwrap_err();
        assert_eq!(err.code(), OcfCode::ErrConfigured, "{}", err.reason());
        err.reason().to_owned()
    }

    #[test]
    fn ipaddr2_defaults() {
        let s = parse(&[("ip", "192.0.2.10")]).unwrap();
        assert_eq!(s.prefix, Prefix::FromRoute);
        assert_eq!((s.arp_count, s.arp_interval), (5, Duration::from_millis(200)));
        assert_eq!(s.arp_count_refresh, 0);
        assert!(s.check_link_status && s.run_arping && !s.nodad && !s.noprefixroute);
        assert_eq!(s.preferred_lft, None);
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            parse(&[("ip", "192.0.2.10"), ("cidr_netmask", "24")]).unwrap().prefix,
            Prefix::Given(24)
        );
        assert_eq!(
            parse(&[("ip", "192.0.2.10"), ("cidr_netmask", "255.255.254.0")]).unwrap().prefix,
            Prefix::Given(23)
        );
        assert_eq!(
            parse(&[("ip", "2001:db8::1"), ("cidr_netmask", "128")]).unwrap().prefix,
            Prefix::Given(128)
        );
        assert_eq!(
            parse(&[("ip", "fe80::1"), ("nic", "eth0")]).unwrap().prefix,
            Prefix::LinkLocalDefault
        );
    }

    #[test]
    fn bad_input_names_the_parameter() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("ip", "192.0.2.300")],
                "parameter 'ip': '192.0.2.300' is not an IPv4 or IPv6 address",
            ),
            (
                &[("ip", "192.0.2.1/24")],
                "parameter 'ip': '192.0.2.1/24' has a prefix; put it in cidr_netmask",
            ),
            (&[("ip", "0.0.0.0")], "parameter 'ip': 0.0.0.0 cannot be assigned to an interface"),
            (&[("ip", "ff02::1")], "parameter 'ip': ff02::1 cannot be assigned to an interface"),
            (
                &[("ip", "192.0.2.1"), ("cidr_netmask", "0")],
                "parameter 'cidr_netmask': 0 is not a prefix length between 1 and 32",
            ),
            (
                &[("ip", "192.0.2.1"), ("cidr_netmask", "33")],
                "parameter 'cidr_netmask': 33 is not a prefix length between 1 and 32",
            ),
            (
                &[("ip", "2001:db8::1"), ("cidr_netmask", "129")],
                "parameter 'cidr_netmask': 129 is not a prefix length between 1 and 128",
            ),
            (
                &[("ip", "192.0.2.1"), ("cidr_netmask", "255.0.255.0")],
                "parameter 'cidr_netmask': 255.0.255.0 is not a contiguous netmask",
            ),
            (
                &[("ip", "fe80::1")],
                "parameter 'nic': must be set for the link-local address fe80::1",
            ),
            (
                &[("ip", "192.0.2.1"), ("nic", "eth0:1")],
                "parameter 'nic': 'eth0:1': the nic:label form is not supported; use iflabel",
            ),
            (
                &[("ip", "192.0.2.1"), ("nic", "a-very-long-interface")],
                "parameter 'nic': 'a-very-long-interface' is not a valid interface name",
            ),
            (
                &[("ip", "192.0.2.1"), ("broadcast", "nope")],
                "parameter 'broadcast': 'nope' is not an IPv4 address, + or -",
            ),
            (
                &[("ip", "2001:db8::1"), ("iflabel", "x")],
                "parameter 'iflabel': labels apply to IPv4 addresses only",
            ),
            (
                &[("ip", "2001:db8::1"), ("preferred_lft", "soon")],
                "parameter 'preferred_lft': 'soon' is neither a number of seconds nor forever",
            ),
            (
                &[("ip", "192.0.2.1"), ("preferred_lft", "0")],
                "parameter 'preferred_lft': applies to IPv6 addresses only",
            ),
            (
                &[("ip", "192.0.2.1"), ("arp_count", "-1")],
                "parameter 'arp_count' is -1, which is outside 0..1000",
            ),
            (
                &[("ip", "192.0.2.1"), ("lvs_support", "true")],
                "parameter 'lvs_support': this IPaddr2 option is not supported by ocf:ferroha:vip",
            ),
        ];
        for (pairs, want) in cases {
            assert_eq!(reason(pairs), *want);
        }
    }

    #[test]
    fn missing_ip() {
        assert_eq!(reason(&[("nic", "eth0")]), "required parameter 'ip' is not set");
    }

    #[test]
    fn broadcast() {
        let s = parse(&[("ip", "192.0.2.10")]).unwrap();
        assert_eq!(s.broadcast_for(24), Some("192.0.2.255".parse().unwrap()));
        assert_eq!(s.broadcast_for(22), Some("192.0.3.255".parse().unwrap()));
        assert_eq!(s.broadcast_for(31), None);
        let s = parse(&[("ip", "192.0.2.10"), ("broadcast", "-")]).unwrap();
        assert_eq!(s.broadcast_for(24), None);
        let s = parse(&[("ip", "192.0.2.10"), ("broadcast", "192.0.2.127")]).unwrap();
        assert_eq!(s.broadcast_for(24), Some("192.0.2.127".parse().unwrap()));
        assert_eq!(parse(&[("ip", "2001:db8::1")]).unwrap().broadcast_for(64), None);
    }

    #[test]
    fn labels() {
        let s = parse(&[("ip", "192.0.2.10"), ("iflabel", "vip")]).unwrap();
        assert_eq!(s.label("eth0").as_deref(), Some("eth0:vip"));
    }

    fn route(dst: &str, prefix: u8, oif: u32, metric: u32) -> RouteEntry {
        RouteEntry {
            table: 254,
            dst: dst.parse().unwrap(),
            prefix,
            oif: Some(oif),
            gateway: None,
            metric,
            unicast: true,
        }
    }

    #[test]
    fn findif_choice() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        let routes = vec![
            route("0.0.0.0", 0, 1, 0),
            route("10.0.0.0", 8, 2, 100),
            route("10.1.2.0", 24, 3, 200),
            route("10.1.2.0", 24, 4, 50),
            RouteEntry { unicast: false, ..route("10.1.2.0", 25, 5, 0) },
            RouteEntry { table: 100, ..route("10.1.2.0", 26, 6, 0) },
            RouteEntry {
                gateway: Some("10.0.0.1".parse().unwrap()),
                ..route("10.1.2.0", 28, 8, 0)
            },
        ];
        assert_eq!(covering_route(&routes, ip, None).map(|r| r.oif), Some(Some(4)));
        assert_eq!(covering_route(&routes, ip, Some(2)).map(|r| r.prefix), Some(8));
        assert_eq!(
            covering_route(&routes, "192.0.2.1".parse().unwrap(), None),
            None,
            "default route is ignored"
        );
        let v6 = vec![route("2001:db8::", 64, 7, 256)];
        assert_eq!(
            covering_route(&v6, "2001:db8::5".parse().unwrap(), None).map(|r| r.oif),
            Some(Some(7))
        );
        assert_eq!(covering_route(&v6, "2001:db9::5".parse().unwrap(), None), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// Any parameter values give settings or a configuration error naming a parameter.
            #[test]
            fn any_parameters_give_settings_or_name_one(
                values in prop::collection::vec(
                    prop_oneof![
                        any::<String>(), any::<i64>().prop_map(|n| n.to_string()),
                        any::<[u8; 4]>().prop_map(|b| Ipv4Addr::from(b).to_string()),
                        any::<u128>().prop_map(|b| std::net::Ipv6Addr::from(b).to_string()),
                        "[a-z0-9:.-]{0,16}", Just("true".to_owned()), Just("fe80::1".to_owned()),
                    ],
                    crate::PARAMS.len(),
                ),
            ) {
                let pairs: Vec<(&str, &str)> =
                    crate::PARAMS.iter().zip(&values).map(|(p, v)| (p.name, v.as_str())).collect();
                match parse(&pairs) {
                    Ok(s) => {
                        let _ = (s.label("eth0"), s.broadcast_for(24));
                    }
                    Err(e) => {
                        prop_assert_eq!(e.code(), OcfCode::ErrConfigured, "{}", e.reason());
                        let named = crate::PARAMS.iter().any(|p| e.reason().contains(&format!("'{}'", p.name)));
                        prop_assert!(named, "{}", e.reason());
                    }
                }
            }
        }
    }
}
