//! `ocf:ferroha:vip` — a floating IPv4/IPv6 address.
//!
//! Adds one address to one interface and announces it (gratuitous ARP for IPv4, unsolicited
//! neighbour advertisements for IPv6), removes it on stop, and reports it on monitor. Everything
//! goes through rtnetlink and packet sockets in-process: no `ip`, `arping` or `send_arp` is run,
//! and a monitor forks nothing.
//!
//! Parameter names follow `ocf:heartbeat:IPaddr2` where the meaning is the same, so a primitive
//! can move to this agent by changing its type.

mod announce;
mod background;
mod netlink;
mod settings;

use std::cell::{RefCell, RefMut};
use std::net::IpAddr;
use std::time::Duration;

use ocf::{ActionSpec, Agent, AgentInfo, Ctx, OcfError, Param, Status, Values};

use netlink::{AddrEntry, Family, Link, NetlinkError, NewAddr};
use settings::{Prefix, Settings};

pub(crate) const IP: Param = Param::string("ip").required().unique().desc(
    "IPv4 or IPv6 address",
    "The floating address to manage, IPv4 (192.0.2.10) or IPv6 (2001:db8::10), without a prefix. \
     An IPv6 link-local address (fe80::/10) needs nic.",
);
pub(crate) const NIC: Param = Param::string("nic").desc(
    "Network interface",
    "The interface to put the address on. When empty, the interface of the most specific \
     route in the main table that covers the address (lowest metric on ties), as IPaddr2's \
     findif does; if none covers it the agent fails with a reason. The IPaddr2 form nic:label \
     is not accepted: use iflabel.",
);
pub(crate) const CIDR_NETMASK: Param = Param::string("cidr_netmask").desc(
    "Prefix length",
    "The prefix length (1-32 for IPv4, 1-128 for IPv6); an IPv4 dotted netmask such as \
     255.255.255.0 is accepted too. When empty, taken from the covering route (64 for an \
     IPv6 link-local address).",
);
pub(crate) const BROADCAST: Param = Param::string("broadcast").desc(
    "IPv4 broadcast address",
    "IPv4 only. Empty or + computes the broadcast address from the prefix; - sets none; \
     otherwise an IPv4 address.",
);
pub(crate) const IFLABEL: Param = Param::string("iflabel").desc(
    "Address label",
    "IPv4 only. The address gets the label nic:iflabel (at most 15 characters in all), shown \
     by ifconfig-style tools; monitor checks it.",
);
pub(crate) const ARP_COUNT: Param = Param::integer("arp_count", 0, 1000).default("5").desc(
    "Announcements on start",
    "Gratuitous ARP requests (IPv4) or unsolicited neighbour advertisements (IPv6) sent when \
     the address is added, so switches and neighbours learn its new place. 0 sends none.",
);
pub(crate) const ARP_INTERVAL: Param =
    Param::integer("arp_interval", 0, 10000).default("200").desc(
        "Milliseconds between announcements",
        "Pause between two announcements. Unlike IPaddr2's send_arp, which sends one per second \
     whatever this says, the interval is honoured.",
    );
pub(crate) const ARP_BG: Param = Param::boolean("arp_bg").default("true").desc(
    "Finish the announcements in the background",
    "When true, start returns right after the first announcement and a detached child sends \
     the others (arp_count - 1, arp_interval apart), checking before each one that the \
     address is still on the interface; when false, start returns after the last one. \
     Resources ordered after the VIP start that much sooner.",
);
pub(crate) const ARP_COUNT_REFRESH: Param =
    Param::integer("arp_count_refresh", 0, 100).default("0").desc(
        "Announcements on each monitor",
        "Gratuitous ARPs (IPv4) or neighbour advertisements (IPv6) sent by every recurring \
     monitor that finds the address, against caches left stale by a split brain. Probes \
     send none.",
    );
pub(crate) const RUN_ARPING: Param = Param::boolean("run_arping").default("true").desc(
    "Duplicate-address probe before adding (IPv4)",
    "Before adding an IPv4 address, send RFC 5227 ARP probes and listen for arping_timeout \
     ms. If another host answers for the address, keep probing until the start timeout \
     (the previous holder may be releasing it) and fail the start with a reason naming \
     the MAC address that answers. IPv6 relies on the kernel's duplicate address detection \
     instead (see nodad). IPaddr2 defaults this to false.",
);
pub(crate) const ARPING_TIMEOUT: Param =
    Param::integer("arping_timeout", 10, 10000).default("500").desc(
        "Duplicate-address probe time, ms",
        "How long the IPv4 duplicate-address probe listens for an answer before the address is \
     added.",
    );
pub(crate) const NODAD: Param = Param::boolean("nodad").default("false").desc(
    "IPv6: skip duplicate address detection",
    "IPv6 only. Add the address without kernel duplicate address detection. Without it, \
     start waits until DAD has finished and fails with a reason (removing the address) when \
     it reports a duplicate.",
);
pub(crate) const NOPREFIXROUTE: Param = Param::boolean("noprefixroute").default("false").desc(
    "Do not add a prefix route",
    "Add the address without the automatic route for its prefix.",
);
pub(crate) const PREFERRED_LFT: Param = Param::string("preferred_lft").default("forever").desc(
    "IPv6 preferred lifetime",
    "IPv6 only. Seconds, or forever. 0 keeps the address from being picked as a source \
     address.",
);
pub(crate) const CHECK_LINK_STATUS: Param =
    Param::boolean("check_link_status").default("true").desc(
        "A down link counts as not running",
        "When true, monitor reports not running (7) while the interface is administratively down \
     or has no carrier, so Pacemaker moves the address; start refuses such a link.",
    );

const PARAMS: &[Param] = &[
    IP,
    NIC,
    CIDR_NETMASK,
    BROADCAST,
    IFLABEL,
    ARP_COUNT,
    ARP_INTERVAL,
    ARP_BG,
    ARP_COUNT_REFRESH,
    RUN_ARPING,
    ARPING_TIMEOUT,
    NODAD,
    NOPREFIXROUTE,
    PREFERRED_LFT,
    CHECK_LINK_STATUS,
];

const ACTIONS: &[ActionSpec] = &[
    ActionSpec::new("start", 20),
    ActionSpec::new("stop", 20),
    ActionSpec::monitor(20, 10),
    ActionSpec::new("meta-data", 5),
    ActionSpec::new("validate-all", 20),
];

/// ARP probes sent in each `arping_timeout` window, spread evenly over it (RFC 5227 sends 3,
/// over 1–2 s; one lost probe or answer then still leaves two chances in a short window).
const PROBES_PER_ROUND: u32 = 3;

/// The `vip` agent. It keeps one netlink socket for the whole action (validate and the action
/// share it), opened on first use.
#[derive(Debug, Default)]
pub struct Vip {
    nl: RefCell<Option<netlink::Netlink>>,
}

/// The validated configuration with the interface resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VipConfig {
    /// What the parameters say.
    pub(crate) settings: Settings,
    /// The interface.
    pub(crate) link: Link,
    /// The prefix length in use.
    pub(crate) prefix: u8,
}

impl Agent for Vip {
    type Config = VipConfig;
    const INFO: AgentInfo = AgentInfo {
        name: "vip",
        version: env!("CARGO_PKG_VERSION"),
        shortdesc: "Floating IPv4/IPv6 address",
        longdesc: "Manages one floating IPv4 or IPv6 address on one interface, as \
ocf:heartbeat:IPaddr2 does, through rtnetlink and packet sockets instead of ip(8) and send_arp: \
start probes for a duplicate (IPv4) or waits for duplicate address detection (IPv6), adds the \
address and announces it with gratuitous ARP or unsolicited neighbour advertisements; monitor \
forks nothing and reports 0 when the address is on the interface and the link is up, 7 when it \
is absent or the link is down, and 1 when it sits on another interface; stop removes it.",
        params: PARAMS,
        actions: ACTIONS,
    };

    fn validate(&self, values: &Values<'_>, _ctx: &Ctx) -> Result<VipConfig, OcfError> {
        let settings = Settings::from_values(values)?;
        let mut nl = self.netlink()?;
        let link = link_for(&mut nl, &settings)?;
        let prefix = prefix_for(&mut nl, &settings, &link)?;
        if let Some(label) = settings.label(&link.name).filter(|l| l.len() > 15) {
            return Err(OcfError::configured(format!(
                "parameter 'iflabel': the label '{label}' is longer than 15 characters"
            )));
        }
        Ok(VipConfig { settings, link, prefix })
    }

    fn monitor(&self, cfg: &VipConfig, ctx: &Ctx) -> Result<Status, OcfError> {
        let mut nl = self.netlink()?;
        match self.find(&mut nl, cfg)? {
            Placement::Absent => Ok(Status::NotRunning),
            Placement::Elsewhere(idx) => Err(OcfError::generic(format!(
                "{} is on {}, not on {}",
                cfg.settings.ip,
                self.names(&mut nl, &idx),
                cfg.link.name
            ))),
            Placement::Ours(e) => {
                self.check_entry(cfg, &e)?;
                if cfg.settings.check_link_status && Self::link_down(cfg) {
                    log::warn!("{} is on {}, but the link is down", cfg.settings.ip, cfg.link.name);
                    return Ok(Status::NotRunning);
                }
                if !ctx.is_probe() {
                    self.announce(cfg, cfg.settings.arp_count_refresh, false, None);
                }
                Ok(Status::Running)
            }
        }
    }

    fn start(&self, cfg: &VipConfig, ctx: &Ctx) -> Result<(), OcfError> {
        let s = &cfg.settings;
        let mut nl = self.netlink()?;
        if s.check_link_status && Self::link_down(cfg) {
            return Err(OcfError::generic(format!(
                "the link of {} is down (no carrier or administratively down)",
                cfg.link.name
            )));
        }
        match self.find(&mut nl, cfg)? {
            Placement::Ours(e) => {
                self.check_entry(cfg, &e)?;
                log::info!("{} is already on {}", s.ip, cfg.link.name);
                return Ok(());
            }
            Placement::Elsewhere(idx) => {
                return Err(OcfError::generic(format!(
                    "{} is already on {}; not adding it to {}",
                    s.ip,
                    self.names(&mut nl, &idx),
                    cfg.link.name
                )));
            }
            Placement::Absent => {}
        }
        // One ARP socket for the probe rounds and the announcements (see ArpSocket for why).
        // Failing to open it is not fatal: the probe is skipped with a warning, as when it
        // fails midway, and the announcements open their own.
        let arp = match (s.ip, cfg.link.mac.filter(|_| cfg.link.ether)) {
            (IpAddr::V4(_), Some(mac)) => announce::ArpSocket::open(cfg.link.index, mac)
                .inspect_err(|e| log::warn!("cannot open an ARP socket on {}: {e}", cfg.link.name))
                .ok(),
            _ => None,
        };
        if s.run_arping {
            self.probe_duplicate(cfg, arp.as_ref(), ctx)?;
        }
        let add = NewAddr {
            index: cfg.link.index,
            addr: s.ip,
            prefix: cfg.prefix,
            broadcast: s.broadcast_for(cfg.prefix),
            label: s.label(&cfg.link.name),
            nodad: s.nodad,
            noprefixroute: s.noprefixroute,
            preferred_lft: s.preferred_lft,
        };
        match nl.add_address(&add) {
            Ok(()) => {}
            Err(e) if e.errno() == Some(libc::EEXIST) => {}
            Err(e) => {
                return Err(nl_err(&format!(
                    "cannot add {}/{} to {}",
                    s.ip, cfg.prefix, cfg.link.name
                ))(e));
            }
        }
        if s.ip.is_ipv6() && !s.nodad {
            self.wait_dad(&mut nl, cfg, ctx)?;
        }
        log::info!("added {}/{} to {}", s.ip, cfg.prefix, cfg.link.name);
        self.announce(cfg, s.arp_count, s.arp_bg, arp.as_ref());
        Ok(())
    }

    fn stop(&self, cfg: &VipConfig, _ctx: &Ctx) -> Result<(), OcfError> {
        let mut nl = self.netlink()?;
        let Placement::Ours(e) = self.find(&mut nl, cfg)? else {
            return Ok(());
        };
        remove(&mut nl, &e, &cfg.link.name)
    }

    /// With a broken configuration, remove the address from where the configuration says it
    /// would be (the nic, or any interface when none is given); succeed when nothing is held.
    fn stop_invalid(&self, v: &Values<'_>, _ctx: &Ctx, err: OcfError) -> Result<(), OcfError> {
        let Some(ip) = v.opt_str(&IP).and_then(|v| v.trim().parse::<IpAddr>().ok()) else {
            log::warn!(
                "stop with an invalid configuration ({}): no address, nothing held",
                err.reason()
            );
            return Ok(());
        };
        let mut nl = self.netlink()?;
        let nic = match v.opt_str(&NIC) {
            Some(name) => match nl.link_by_name(name).map_err(nl_err("cannot read interfaces"))? {
                Some(l) => Some(l.index),
                None => return Ok(()),
            },
            None => None,
        };
        let entries = nl.addresses(family(ip)).map_err(nl_err("cannot list addresses"))?;
        for e in entries.iter().filter(|e| e.addr == ip && nic.is_none_or(|n| n == e.index)) {
            log::warn!("stop with an invalid configuration ({}): removing {ip}", err.reason());
            remove(&mut nl, e, &format!("ifindex {}", e.index))?;
        }
        Ok(())
    }
}

/// The interface: `nic`, or the one of the route that covers the address.
fn link_for(nl: &mut netlink::Netlink, settings: &Settings) -> Result<Link, OcfError> {
    let ip = settings.ip;
    if let Some(name) = &settings.nic {
        return nl
            .link_by_name(name)
            .map_err(nl_err("cannot read interfaces"))?
            .ok_or_else(|| OcfError::args(format!("nic '{name}' does not exist on this node")));
    }
    let routes = nl.routes(family(ip)).map_err(nl_err("cannot read routes"))?;
    let best = settings::covering_route(&routes, ip, None).ok_or_else(|| {
        OcfError::args(format!("no route on this node covers {ip}; set nic and cidr_netmask"))
    })?;
    nl.link_by_index(best.oif.unwrap_or_default())
        .map_err(nl_err("cannot read interfaces"))?
        .ok_or_else(|| OcfError::args(format!("the route to {ip} has no usable interface")))
}

/// The prefix length: `cidr_netmask`, /64 for a link-local address, or the covering route's.
fn prefix_for(nl: &mut netlink::Netlink, settings: &Settings, link: &Link) -> Result<u8, OcfError> {
    match settings.prefix {
        Prefix::Given(p) => Ok(p),
        Prefix::LinkLocalDefault => Ok(64),
        Prefix::FromRoute => {
            let routes = nl.routes(family(settings.ip)).map_err(nl_err("cannot read routes"))?;
            settings::covering_route(&routes, settings.ip, Some(link.index))
                .map(|r| r.prefix)
                .ok_or_else(|| {
                    OcfError::args(format!(
                        "no route via {} covers {}; set cidr_netmask",
                        link.name, settings.ip
                    ))
                })
        }
    }
}

/// A netlink failure while doing `what`: EPERM/EACCES is OCF_ERR_PERM, the errno text is in
/// the reason.
fn nl_err(what: &str) -> impl FnOnce(NetlinkError) -> OcfError + '_ {
    move |e| OcfError::from_errno(what, e.errno(), e)
}

fn family(ip: IpAddr) -> Family {
    if ip.is_ipv4() { Family::V4 } else { Family::V6 }
}

/// Where the address currently is.
#[derive(Debug, PartialEq, Eq)]
enum Placement {
    Absent,
    Ours(AddrEntry),
    Elsewhere(Vec<u32>),
}

fn placement(entries: Vec<AddrEntry>, ip: IpAddr, index: u32) -> Placement {
    let mut elsewhere = Vec::new();
    for e in entries.into_iter().filter(|e| e.addr == ip) {
        if e.index == index {
            return Placement::Ours(e);
        }
        elsewhere.push(e.index);
    }
    if elsewhere.is_empty() { Placement::Absent } else { Placement::Elsewhere(elsewhere) }
}

impl Vip {
    /// The socket of this invocation (`Agent` methods take `&self`, so it sits in a cell).
    fn netlink(&self) -> Result<RefMut<'_, netlink::Netlink>, OcfError> {
        let mut slot = self.nl.borrow_mut();
        if slot.is_none() {
            *slot = Some(netlink::Netlink::open().map_err(nl_err("cannot open a netlink socket"))?);
        }
        Ok(RefMut::map(slot, |s| s.as_mut().expect("the socket was opened just above")))
    }

    fn find(&self, nl: &mut netlink::Netlink, cfg: &VipConfig) -> Result<Placement, OcfError> {
        let entries =
            nl.addresses(family(cfg.settings.ip)).map_err(nl_err("cannot list addresses"))?;
        Ok(placement(entries, cfg.settings.ip, cfg.link.index))
    }

    fn names(&self, nl: &mut netlink::Netlink, indexes: &[u32]) -> String {
        let names: Vec<String> = indexes
            .iter()
            .map(|i| match nl.link_by_index(*i) {
                Ok(Some(l)) => l.name,
                _ => format!("ifindex {i}"),
            })
            .collect();
        names.join(", ")
    }

    /// The link state read by `validate` in this same invocation: fresh enough, and re-reading
    /// it would cost a netlink round trip on every monitor.
    fn link_down(cfg: &VipConfig) -> bool {
        !cfg.link.admin_up || !cfg.link.lower_up
    }

    fn check_entry(&self, cfg: &VipConfig, e: &AddrEntry) -> Result<(), OcfError> {
        let s = &cfg.settings;
        if e.dadfailed {
            return Err(OcfError::generic(format!(
                "{} on {} failed duplicate address detection: another host uses it",
                s.ip, cfg.link.name
            )));
        }
        if let Some(want) = s.label(&cfg.link.name).filter(|w| e.label.as_deref() != Some(w)) {
            return Err(OcfError::generic(format!(
                "{} is on {} with label '{}', expected '{want}'",
                s.ip,
                cfg.link.name,
                e.label.as_deref().unwrap_or("")
            )));
        }
        Ok(())
    }

    /// Send `count` announcements; with `background`, only the first before returning. IPv4
    /// announcements go through `arp` when given (the detached child inherits it too).
    fn announce(
        &self,
        cfg: &VipConfig,
        count: u32,
        background: bool,
        arp: Option<&announce::ArpSocket>,
    ) {
        let s = &cfg.settings;
        let Some(mac) = cfg.link.mac.filter(|_| cfg.link.ether) else {
            log::info!("{} is not an Ethernet link; nothing to announce", cfg.link.name);
            return;
        };
        if count == 0 {
            return;
        }
        let (first, rest) = if background { (1, count - 1) } else { (count, 0) };
        let sent = send_announcements(cfg, mac, first, arp);
        match &sent {
            Ok(()) => log::debug!("sent {first} announcements for {} on {}", s.ip, cfg.link.name),
            // The address is up and serving; a lost announcement only delays neighbours.
            Err(e) => log::warn!("announcing {} on {} failed: {e}", s.ip, cfg.link.name),
        }
        if rest == 0 || sent.is_err() {
            return;
        }
        let still_ours = |cfg: &VipConfig| {
            netlink::Netlink::open()
                .and_then(|mut nl| nl.addresses(family(cfg.settings.ip)))
                .is_ok_and(|e| {
                    matches!(placement(e, cfg.settings.ip, cfg.link.index), Placement::Ours(_))
                })
        };
        let spawned = background::detach(|| {
            for _ in 0..rest {
                std::thread::sleep(cfg.settings.arp_interval);
                if !still_ours(cfg) || send_announcements(cfg, mac, 1, arp).is_err() {
                    break;
                }
            }
        });
        if let Err(e) = spawned {
            log::warn!("cannot send the remaining announcements in the background: {e}");
        }
    }

    /// RFC 5227 probe; when someone answers, keep probing until the deadline in case the
    /// previous holder is still releasing the address.
    fn probe_duplicate(
        &self,
        cfg: &VipConfig,
        arp: Option<&announce::ArpSocket>,
        ctx: &Ctx,
    ) -> Result<(), OcfError> {
        let (IpAddr::V4(v4), Some(_)) = (cfg.settings.ip, cfg.link.mac.filter(|_| cfg.link.ether))
        else {
            return Ok(());
        };
        let Some(arp) = arp else {
            log::warn!("no duplicate-address probe for {v4} (no ARP socket), adding anyway");
            return Ok(());
        };
        let wait = cfg.settings.arping_timeout;
        let mut last = None;
        loop {
            let wait = wait.min(ctx.deadline.remaining());
            match arp.probe(v4, PROBES_PER_ROUND, wait) {
                Ok(None) => return Ok(()),
                Ok(Some(other)) => {
                    if last.is_none() {
                        log::warn!("{v4} is answered by {}; waiting for it to go", fmt_mac(other));
                    }
                    last = Some(other);
                }
                Err(e) => {
                    log::warn!("duplicate-address probe for {v4} failed, adding anyway: {e}");
                    return Ok(());
                }
            }
            if ctx.deadline.remaining() < Duration::from_millis(50) {
                let mac = last.map(fmt_mac).unwrap_or_default();
                return Err(OcfError::generic(format!(
                    "{v4} is already in use on the network by {mac}; not adding it on {}",
                    cfg.link.name
                )));
            }
            ctx.deadline.sleep(Duration::from_millis(500));
        }
    }

    fn wait_dad(
        &self,
        nl: &mut netlink::Netlink,
        cfg: &VipConfig,
        ctx: &Ctx,
    ) -> Result<(), OcfError> {
        let s = &cfg.settings;
        let state = ctx.deadline.wait_for(Duration::from_millis(50), || match self.find(nl, cfg) {
            Ok(Placement::Ours(e)) if e.dadfailed => Some(Err(OcfError::generic(format!(
                "{} failed duplicate address detection on {}: another host uses it",
                s.ip, cfg.link.name
            )))),
            Ok(Placement::Ours(e)) if e.tentative => None,
            Ok(Placement::Ours(_)) => Some(Ok(())),
            Ok(_) => Some(Err(OcfError::generic(format!(
                "{} disappeared from {} during duplicate address detection",
                s.ip, cfg.link.name
            )))),
            Err(e) => Some(Err(e)),
        });
        let result = state.unwrap_or_else(|| {
            Err(OcfError::generic(format!(
                "duplicate address detection for {} on {} did not finish within the start timeout",
                s.ip, cfg.link.name
            )))
        });
        if result.is_err() {
            let _ = nl.del_address(cfg.link.index, s.ip, cfg.prefix);
        }
        result
    }
}

fn send_announcements(
    cfg: &VipConfig,
    mac: [u8; 6],
    count: u32,
    arp: Option<&announce::ArpSocket>,
) -> std::io::Result<()> {
    let s = &cfg.settings;
    match s.ip {
        IpAddr::V4(v4) => match arp {
            Some(arp) => arp.send_garp(v4, count, s.arp_interval),
            None => announce::send_garp(cfg.link.index, mac, v4, count, s.arp_interval),
        },
        IpAddr::V6(v6) => {
            announce::send_unsolicited_na(cfg.link.index, mac, v6, count, s.arp_interval)
        }
    }
}

fn fmt_mac(m: [u8; 6]) -> String {
    m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
}

fn remove(nl: &mut netlink::Netlink, e: &AddrEntry, nic: &str) -> Result<(), OcfError> {
    match nl.del_address(e.index, e.addr, e.prefix) {
        Ok(()) => {
            log::info!("removed {}/{} from {nic}", e.addr, e.prefix);
            Ok(())
        }
        Err(err) if err.errno() == Some(libc::EADDRNOTAVAIL) => Ok(()),
        Err(err) => Err(nl_err(&format!("cannot remove {} from {nic}", e.addr))(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u32, ip: &str) -> AddrEntry {
        AddrEntry {
            index,
            addr: ip.parse().unwrap(),
            prefix: 24,
            label: None,
            tentative: false,
            dadfailed: false,
        }
    }

    #[test]
    fn placement_prefers_our_interface() {
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        assert_eq!(placement(vec![entry(2, "192.0.2.1")], ip, 2), Placement::Absent);
        assert_eq!(
            placement(vec![entry(3, "192.0.2.10"), entry(2, "192.0.2.10")], ip, 2),
            Placement::Ours(entry(2, "192.0.2.10"))
        );
        assert_eq!(placement(vec![entry(3, "192.0.2.10")], ip, 2), Placement::Elsewhere(vec![3]));
    }

    #[test]
    fn mac_format() {
        assert_eq!(fmt_mac([0x26, 0xad, 0, 1, 0xff, 9]), "26:ad:00:01:ff:09");
    }

    #[test]
    fn docs_match_params() {
        let md = include_str!("../../../docs/agents/vip.md");
        if let Err(problems) = ocf::doc::check_docs(&Vip::INFO, md) {
            panic!("docs/agents/vip.md is out of sync with PARAMS:\n{problems}");
        }
    }
}
