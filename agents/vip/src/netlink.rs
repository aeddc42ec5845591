//! A small synchronous rtnetlink client: links, addresses and routes.
//!
//! The shell agents fork `ip` and scrape its output; this module talks to the kernel directly over
//! one blocking `NETLINK_ROUTE` socket instead. There is no fork, no async runtime, and every
//! kernel refusal comes back as [`NetlinkError::Kernel`] with its errno, so callers can tell a
//! double add (`EEXIST`) or the deletion of an absent address (`EADDRNOTAVAIL`) from a real
//! failure without matching strings.
//!
//! Requests are built with netlink-packet-route's emitters. Replies are framed and decoded here,
//! one attribute at a time, rather than through `NetlinkMessage::deserialize`: the crate rejects
//! a whole message when a single attribute it knows is malformed or has changed shape in a newer
//! kernel (rust-netlink/netlink-packet-route#147 and #151 are two such reports). One odd
//! interface on the node must not make the VIP's own interface invisible, so attributes that do
//! not decode are skipped with a debug log.
//!
//! Linux only.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{
    DefaultNla, DoneBuffer, Emitable, ErrorBuffer, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED,
    NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR,
    NLMSG_NOOP, NLMSG_OVERRUN, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    NlasIterator, Parseable, ParseableParametrized,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeader, AddressHeaderFlags, AddressMessage,
    AddressScope, CacheInfo,
};
use netlink_packet_route::link::{
    LinkAttribute, LinkExtentMask, LinkFlags, LinkHeader, LinkLayerType, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteLwEnCapType, RouteMessage, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::protocols::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};

/// `IFLA_ALT_IFNAME` (linux/if_link.h). netlink-packet-route only models it inside
/// `IFLA_PROP_LIST`, but a lookup by alternative name sends it as a top-level attribute.
const IFLA_ALT_IFNAME: u16 = 53;
/// `NLMSGERR_ATTR_MSG` (linux/netlink.h): the extended-ack text, e.g. "Invalid prefix length".
const NLMSGERR_ATTR_MSG: u16 = 1;
/// Interface names shorter than this fit `IFLA_IFNAME`; longer ones can only be altnames.
const IFNAMSIZ: usize = 16;
/// How often a dump is repeated when the kernel flags it `NLM_F_DUMP_INTR` (the table changed
/// while it was being read). iproute2 gives up after one try; two retries cost little here.
const DUMP_ATTEMPTS: u32 = 3;

/// A failed rtnetlink exchange.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum NetlinkError {
    /// A socket call (open, bind, send, receive) failed.
    #[error("netlink socket I/O failed: {0}")]
    Io(io::Error),
    /// The kernel refused the request with `NLMSG_ERROR`.
    #[error("{op}: {}", describe_kernel_error(*.errno, .message.as_deref()))]
    Kernel {
        /// What was asked, e.g. `"add address"`.
        op: &'static str,
        /// Positive errno, comparable with `libc::EEXIST` and friends.
        errno: i32,
        /// The kernel's extended-ack text, when it sent one.
        message: Option<String>,
    },
    /// The kernel's reply did not parse.
    #[error("malformed netlink reply: {0}")]
    Decode(String),
}

impl NetlinkError {
    /// The errno behind the error: the kernel's for [`NetlinkError::Kernel`], the OS error of a
    /// failed socket call for [`NetlinkError::Io`].
    pub(crate) fn errno(&self) -> Option<i32> {
        match self {
            Self::Kernel { errno, .. } => Some(*errno),
            Self::Io(e) => e.raw_os_error(),
            Self::Decode(_) => None,
        }
    }
}

fn describe_kernel_error(errno: i32, message: Option<&str>) -> String {
    let os = io::Error::from_raw_os_error(errno);
    match message {
        Some(m) => format!("{os} ({m})"),
        None => os.to_string(),
    }
}

fn decode_error(what: &str, e: impl std::fmt::Display) -> NetlinkError {
    NetlinkError::Decode(format!("{what}: {e}"))
}

/// Address family selector for dumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// IPv4 (`AF_INET`).
    V4,
    /// IPv6 (`AF_INET6`).
    V6,
}

impl Family {
    fn af(self) -> AddressFamily {
        match self {
            Self::V4 => AddressFamily::Inet,
            Self::V6 => AddressFamily::Inet6,
        }
    }

    fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(_) => Self::V4,
            IpAddr::V6(_) => Self::V6,
        }
    }
}

/// A network interface as `RTM_NEWLINK` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Link {
    /// Interface index.
    pub(crate) index: u32,
    /// Primary name (`IFLA_IFNAME`), even when the link was looked up by an altname.
    pub(crate) name: String,
    /// `IFF_UP`: administratively up.
    pub(crate) admin_up: bool,
    /// `IFF_LOWER_UP`: the driver reports carrier.
    pub(crate) lower_up: bool,
    /// Link-layer type is Ethernet (`ARPHRD_ETHER`), the only one the ARP code in
    /// [`crate::announce`] speaks.
    pub(crate) ether: bool,
    /// Hardware address, when it is 6 bytes long.
    pub(crate) mac: Option<[u8; 6]>,
}

/// One configured address, from an `RTM_GETADDR` dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AddrEntry {
    /// Interface index.
    pub(crate) index: u32,
    /// The local address (`IFA_LOCAL`, else `IFA_ADDRESS`; they differ only on point-to-point
    /// links, where `IFA_ADDRESS` is the peer).
    pub(crate) addr: IpAddr,
    /// Prefix length.
    pub(crate) prefix: u8,
    /// `IFA_LABEL` (IPv4 only).
    pub(crate) label: Option<String>,
    /// `IFA_F_TENTATIVE`: IPv6 duplicate address detection has not finished.
    pub(crate) tentative: bool,
    /// `IFA_F_DADFAILED`: IPv6 duplicate address detection found another owner.
    pub(crate) dadfailed: bool,
}

/// One route, from an `RTM_GETROUTE` dump of all tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteEntry {
    /// Routing table (`RTA_TABLE`, which holds ids above 255, else the header byte).
    pub(crate) table: u32,
    /// Destination; the unspecified address for a default route.
    pub(crate) dst: IpAddr,
    /// Destination prefix length.
    pub(crate) prefix: u8,
    /// Output interface. `None` for multipath and for blackhole-style routes.
    pub(crate) oif: Option<u32>,
    /// Next hop, absent for directly connected routes.
    pub(crate) gateway: Option<IpAddr>,
    /// `RTA_PRIORITY`, 0 when absent.
    pub(crate) metric: u32,
    /// `RTN_UNICAST`; false for local, broadcast, multicast, blackhole, unreachable, prohibit…
    pub(crate) unicast: bool,
}

/// An address to add with [`Netlink::add_address`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewAddr {
    /// Interface index.
    pub(crate) index: u32,
    /// The address itself.
    pub(crate) addr: IpAddr,
    /// Prefix length.
    pub(crate) prefix: u8,
    /// IPv4 broadcast address (`IFA_BROADCAST`); ignored for IPv6.
    pub(crate) broadcast: Option<Ipv4Addr>,
    /// IPv4 label (`IFA_LABEL`, at most 15 bytes); ignored for IPv6, which has no labels.
    pub(crate) label: Option<String>,
    /// `IFA_F_NODAD`: skip IPv6 duplicate address detection so the address is usable at once.
    pub(crate) nodad: bool,
    /// `IFA_F_NOPREFIXROUTE`: do not add the connected prefix route.
    pub(crate) noprefixroute: bool,
    /// IPv6 preferred lifetime in seconds (0 = deprecated, never chosen as a source address);
    /// `None` = forever. The valid lifetime stays forever. Ignored for IPv4.
    pub(crate) preferred_lft: Option<u32>,
}

/// A blocking rtnetlink socket connected to the kernel.
#[derive(Debug)]
pub(crate) struct Netlink {
    socket: Socket,
    /// Our port id, which the kernel puts in every reply.
    port: u32,
    seq: u32,
    buf: Vec<u8>,
}

impl Netlink {
    /// Opens and binds a `NETLINK_ROUTE` socket.
    pub(crate) fn open() -> Result<Self, NetlinkError> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(NetlinkError::Io)?;
        let addr = socket.bind_auto().map_err(NetlinkError::Io)?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(NetlinkError::Io)?;
        // Extended acks carry the kernel's one-line reason, which makes a much better exit
        // reason than a bare errno; capped acks keep the error from echoing our whole request.
        // Both are best effort: the errno still arrives without them (kernels before 4.12).
        if let Err(e) = socket.set_ext_ack(true) {
            log::debug!("netlink: NETLINK_EXT_ACK unavailable: {e}");
        }
        if let Err(e) = socket.set_cap_ack(true) {
            log::debug!("netlink: NETLINK_CAP_ACK unavailable: {e}");
        }
        Ok(Self { socket, port: addr.port_number(), seq: 0, buf: vec![0; 32 * 1024] })
    }

    /// Looks a link up by name (or altname). A name that does not exist is `Ok(None)`.
    pub(crate) fn link_by_name(&mut self, name: &str) -> Result<Option<Link>, NetlinkError> {
        if name.is_empty() || name.contains('\0') {
            // The kernel would answer EINVAL, but no link can have such a name.
            return Ok(None);
        }
        let mut msg = LinkMessage::default();
        if name.len() < IFNAMSIZ {
            msg.attributes.push(LinkAttribute::IfName(name.to_owned()));
        } else {
            // IFLA_IFNAME longer than 15 bytes fails policy validation; only an altname can be
            // this long, and iproute2 asks for those the same way.
            let mut value = name.as_bytes().to_vec();
            value.push(0);
            msg.attributes.push(LinkAttribute::Other(DefaultNla::new(IFLA_ALT_IFNAME, value)));
        }
        self.get_link(msg)
    }

    /// Looks a link up by index. An index that does not exist is `Ok(None)`.
    pub(crate) fn link_by_index(&mut self, index: u32) -> Result<Option<Link>, NetlinkError> {
        if index == 0 {
            // Index 0 with no name means "no selector": EINVAL, not a missing link.
            return Ok(None);
        }
        let mut msg = LinkMessage::default();
        msg.header.index = index;
        self.get_link(msg)
    }

    fn get_link(&mut self, mut msg: LinkMessage) -> Result<Option<Link>, NetlinkError> {
        // As iproute2 does: no per-VF statistics, the part that makes replies for SR-IOV
        // devices large.
        msg.attributes.push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        let mut found = None;
        let res =
            self.request("get link", RouteNetlinkMessage::GetLink(msg), NLM_F_ACK, |ty, p| {
                if ty == libc::RTM_NEWLINK && found.is_none() {
                    found = Some(decode_link(p)?);
                }
                Ok(())
            });
        match res {
            Ok(_) => Ok(found),
            Err(e) if e.errno() == Some(libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Lists the addresses of one family on all links.
    pub(crate) fn addresses(&mut self, family: Family) -> Result<Vec<AddrEntry>, NetlinkError> {
        let build = || {
            let mut msg = AddressMessage::default();
            msg.header.family = family.af();
            RouteNetlinkMessage::GetAddress(msg)
        };
        self.dump("dump addresses", build, |ty, p| {
            if ty == libc::RTM_NEWADDR { decode_addr(p) } else { Ok(None) }
        })
    }

    /// Adds an address; fails with errno `EEXIST` if it is already there.
    pub(crate) fn add_address(&mut self, a: &NewAddr) -> Result<(), NetlinkError> {
        let msg = RouteNetlinkMessage::NewAddress(new_addr_message(a));
        self.request("add address", msg, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, |_, _| Ok(()))
            .map(drop)
    }

    /// Deletes an address; fails with errno `EADDRNOTAVAIL` if it is not there (or, for IPv4,
    /// is there with another prefix length).
    pub(crate) fn del_address(
        &mut self,
        index: u32,
        addr: IpAddr,
        prefix: u8,
    ) -> Result<(), NetlinkError> {
        let msg = RouteNetlinkMessage::DelAddress(del_addr_message(index, addr, prefix));
        self.request("delete address", msg, NLM_F_ACK, |_, _| Ok(())).map(drop)
    }

    /// Lists the routes of one family in all tables.
    pub(crate) fn routes(&mut self, family: Family) -> Result<Vec<RouteEntry>, NetlinkError> {
        let build = || {
            let mut msg = RouteMessage::default();
            msg.header.address_family = family.af();
            RouteNetlinkMessage::GetRoute(msg)
        };
        self.dump("dump routes", build, |ty, p| {
            if ty == libc::RTM_NEWROUTE { decode_route(p) } else { Ok(None) }
        })
    }

    /// Runs a dump, starting over while the kernel says the table changed under it.
    fn dump<T>(
        &mut self,
        op: &'static str,
        build: impl Fn() -> RouteNetlinkMessage,
        decode: impl Fn(u16, &[u8]) -> Result<Option<T>, NetlinkError>,
    ) -> Result<Vec<T>, NetlinkError> {
        for attempt in 1..=DUMP_ATTEMPTS {
            let mut out = Vec::new();
            let interrupted = self.request(op, build(), NLM_F_DUMP, |ty, p| {
                out.extend(decode(ty, p)?);
                Ok(())
            })?;
            if !interrupted {
                return Ok(out);
            }
            log::debug!("netlink: {op} interrupted by a concurrent change (attempt {attempt})");
        }
        Err(NetlinkError::Kernel {
            op,
            errno: libc::EINTR,
            message: Some("dump kept changing while it was read".to_owned()),
        })
    }

    /// Sends one request and feeds each reply message of ours to `sink` until the ack or
    /// `NLMSG_DONE`. Returns whether the kernel flagged the reply `NLM_F_DUMP_INTR`.
    fn request(
        &mut self,
        op: &'static str,
        msg: RouteNetlinkMessage,
        flags: u16,
        mut sink: impl FnMut(u16, &[u8]) -> Result<(), NetlinkError>,
    ) -> Result<bool, NetlinkError> {
        self.seq = self.seq.wrapping_add(1);
        let bytes = encode_request(msg, flags, self.seq);
        let sent = self.socket.send(&bytes, 0).map_err(NetlinkError::Io)?;
        if sent != bytes.len() {
            return Err(NetlinkError::Io(io::Error::new(
                io::ErrorKind::WriteZero,
                format!("short netlink send: {sent} of {} bytes", bytes.len()),
            )));
        }
        let mut state = ReplyState::new(op, self.seq, self.port);
        loop {
            let len = self.recv_datagram()?;
            let data = self.buf.get(..len).unwrap_or_default();
            if process_datagram(data, &mut state, &mut sink)? {
                return Ok(state.interrupted);
            }
        }
    }

    /// Reads one datagram into `self.buf`, growing it first if the datagram is larger.
    fn recv_datagram(&mut self) -> Result<usize, NetlinkError> {
        loop {
            // MSG_PEEK|MSG_TRUNC reports the full datagram length without consuming it. Dump
            // datagrams are normally at most 32 KiB, but links with many VFs can be larger, and
            // a truncated datagram would be lost for good.
            let res = self
                .socket
                .recv(&mut &mut self.buf[..], libc::MSG_PEEK | libc::MSG_TRUNC)
                .and_then(|want| {
                    if want > self.buf.len() {
                        self.buf.resize(want, 0);
                    }
                    self.socket.recv(&mut &mut self.buf[..], 0)
                });
            match res {
                Ok(len) => return Ok(len),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(NetlinkError::Io(e)),
            }
        }
    }
}

/// Where a request/reply exchange stands.
#[derive(Debug)]
struct ReplyState {
    op: &'static str,
    seq: u32,
    port: u32,
    interrupted: bool,
}

impl ReplyState {
    fn new(op: &'static str, seq: u32, port: u32) -> Self {
        Self { op, seq, port, interrupted: false }
    }
}

fn nlmsg_align(len: usize) -> usize {
    (len + 3) & !3
}

/// Walks the netlink messages of one datagram. Messages of other requests (another sequence
/// number or port) are skipped; an ack or `NLMSG_DONE` ends the exchange (returns `true`); an
/// `NLMSG_ERROR` with a code becomes [`NetlinkError::Kernel`]. Everything else goes to `sink`
/// as (message type, payload).
fn process_datagram(
    data: &[u8],
    state: &mut ReplyState,
    sink: &mut impl FnMut(u16, &[u8]) -> Result<(), NetlinkError>,
) -> Result<bool, NetlinkError> {
    let mut offset = 0;
    while offset < data.len() {
        let rest = data.get(offset..).unwrap_or_default();
        let msg =
            NetlinkBuffer::new_checked(rest).map_err(|e| decode_error("netlink header", e))?;
        offset += nlmsg_align(msg.length() as usize);
        let (ty, flags) = (msg.message_type(), msg.flags());
        if msg.sequence_number() != state.seq
            || (msg.port_number() != state.port && state.port != 0)
        {
            log::debug!(
                "netlink: skipping message type {ty} seq {} port {} (want seq {} port {})",
                msg.sequence_number(),
                msg.port_number(),
                state.seq,
                state.port
            );
            continue;
        }
        if flags & NLM_F_DUMP_INTR != 0 {
            state.interrupted = true;
        }
        let payload = msg.payload();
        match ty {
            NLMSG_NOOP => {}
            NLMSG_ERROR => {
                let err = ErrorBuffer::new_checked(payload)
                    .map_err(|e| decode_error("NLMSG_ERROR", e))?;
                return match err.code() {
                    None => Ok(true),
                    Some(code) => Err(kernel_error(state.op, code.get(), flags, err.payload())),
                };
            }
            NLMSG_DONE => {
                // A dump that fails half way reports the error in NLMSG_DONE's code. Very old
                // kernels send an empty NLMSG_DONE, which is a plain end of dump.
                if let Ok(done) = DoneBuffer::new_checked(payload)
                    && done.code() < 0
                {
                    return Err(NetlinkError::Kernel {
                        op: state.op,
                        errno: done.code().saturating_abs(),
                        message: ext_ack_message(done.extended_ack()),
                    });
                }
                return Ok(true);
            }
            NLMSG_OVERRUN => return Err(NetlinkError::Decode("NLMSG_OVERRUN".to_owned())),
            _ => sink(ty, payload)?,
        }
    }
    Ok(false)
}

/// Builds [`NetlinkError::Kernel`] from an `NLMSG_ERROR`: `code` is the negative errno and
/// `payload` what follows it (our request's header, then extended-ack attributes).
fn kernel_error(op: &'static str, code: i32, flags: u16, payload: &[u8]) -> NetlinkError {
    let mut message = None;
    if flags & NLM_F_ACK_TLVS != 0 {
        // The echoed request is cut down to its 16-byte header when the ack is capped, else it
        // is whole and its own length field says how long.
        let echoed = if flags & NLM_F_CAPPED != 0 {
            16
        } else {
            payload.get(..4).map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize)
        };
        message = payload.get(nlmsg_align(echoed)..).and_then(ext_ack_message);
    }
    NetlinkError::Kernel { op, errno: code.saturating_abs(), message }
}

/// Pulls `NLMSGERR_ATTR_MSG` out of extended-ack attributes.
fn ext_ack_message(tlvs: &[u8]) -> Option<String> {
    NlasIterator::new(tlvs).map_while(Result::ok).find(|nla| nla.kind() == NLMSGERR_ATTR_MSG).map(
        |nla| {
            let v = nla.value();
            let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
            String::from_utf8_lossy(v.get(..end).unwrap_or_default()).into_owned()
        },
    )
}

/// Serializes a request with our flags and sequence number.
fn encode_request(msg: RouteNetlinkMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | flags;
    header.sequence_number = seq;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(msg));
    packet.finalize();
    let mut buf = vec![0; packet.buffer_len()];
    packet.serialize(&mut buf);
    buf
}

fn mac6(bytes: &[u8]) -> Option<[u8; 6]> {
    bytes.try_into().ok()
}

/// Decodes an `RTM_NEWLINK` payload (ifinfomsg + attributes).
fn decode_link(payload: &[u8]) -> Result<Link, NetlinkError> {
    let header = LinkHeader::parse(payload).map_err(|e| decode_error("link header", e))?;
    let attrs = payload.get(header.buffer_len()..).unwrap_or_default();
    let mut link = Link {
        index: header.index,
        name: String::new(),
        admin_up: header.flags.contains(LinkFlags::Up),
        lower_up: header.flags.contains(LinkFlags::LowerUp),
        ether: header.link_layer_type == LinkLayerType::Ether,
        mac: None,
    };
    for nla in NlasIterator::new(attrs) {
        let nla = nla.map_err(|e| decode_error("link attribute", e))?;
        match LinkAttribute::parse_with_param(&nla, header.interface_family) {
            Ok(LinkAttribute::IfName(name)) => link.name = name,
            Ok(LinkAttribute::Address(a)) => link.mac = mac6(&a),
            Ok(_) => {}
            Err(e) => log::debug!(
                "netlink: ifindex {}: skipping attribute type {}: {e}",
                header.index,
                nla.kind()
            ),
        }
    }
    if link.name.is_empty() {
        return Err(NetlinkError::Decode(format!("link {} has no IFLA_IFNAME", link.index)));
    }
    Ok(link)
}

/// Decodes an `RTM_NEWADDR` payload (ifaddrmsg + attributes); `None` when it carries no
/// address (never seen for AF_INET/AF_INET6, but not worth failing a dump over).
fn decode_addr(payload: &[u8]) -> Result<Option<AddrEntry>, NetlinkError> {
    let header = AddressHeader::parse(payload).map_err(|e| decode_error("address header", e))?;
    let attrs = payload.get(header.buffer_len()..).unwrap_or_default();
    let (mut local, mut address, mut label, mut flags32) = (None, None, None, None);
    for nla in NlasIterator::new(attrs) {
        let nla = nla.map_err(|e| decode_error("address attribute", e))?;
        match AddressAttribute::parse(&nla) {
            Ok(AddressAttribute::Local(ip)) => local = Some(ip),
            Ok(AddressAttribute::Address(ip)) => address = Some(ip),
            Ok(AddressAttribute::Label(l)) => label = Some(l),
            Ok(AddressAttribute::Flags(f)) => flags32 = Some(f),
            Ok(_) => {}
            Err(e) => log::debug!(
                "netlink: address on ifindex {}: skipping attribute type {}: {e}",
                header.index,
                nla.kind()
            ),
        }
    }
    let Some(addr) = local.or(address) else {
        return Ok(None);
    };
    // The header byte only holds the low 8 flag bits; IFA_FLAGS (Linux 3.14+) holds all of
    // them, so it is the one to believe when present.
    let flags =
        flags32.unwrap_or_else(|| AddressFlags::from_bits_retain(u32::from(header.flags.bits())));
    Ok(Some(AddrEntry {
        index: header.index,
        addr,
        prefix: header.prefix_len,
        label,
        tentative: flags.contains(AddressFlags::Tentative),
        dadfailed: flags.contains(AddressFlags::Dadfailed),
    }))
}

fn route_ip(a: RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(v6)),
        _ => None,
    }
}

/// Decodes an `RTM_NEWROUTE` payload (rtmsg + attributes); `None` for families other than
/// IPv4 and IPv6.
fn decode_route(payload: &[u8]) -> Result<Option<RouteEntry>, NetlinkError> {
    let header = RouteHeader::parse(payload).map_err(|e| decode_error("route header", e))?;
    let dst_default = match header.address_family {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return Ok(None),
    };
    let attrs = payload.get(header.buffer_len()..).unwrap_or_default();
    let mut route = RouteEntry {
        table: u32::from(header.table),
        dst: dst_default,
        prefix: header.destination_prefix_length,
        oif: None,
        gateway: None,
        metric: 0,
        unicast: header.kind == RouteType::Unicast,
    };
    // The encapsulation type only matters for decoding RTA_ENCAP, which is not needed here.
    let param = (header.address_family, header.kind, RouteLwEnCapType::None);
    for nla in NlasIterator::new(attrs) {
        let nla = nla.map_err(|e| decode_error("route attribute", e))?;
        match RouteAttribute::parse_with_param(&nla, param) {
            Ok(RouteAttribute::Destination(a)) => {
                if let Some(ip) = route_ip(a) {
                    route.dst = ip;
                }
            }
            Ok(RouteAttribute::Gateway(a)) => route.gateway = route_ip(a),
            Ok(RouteAttribute::Oif(i)) => route.oif = Some(i),
            Ok(RouteAttribute::Priority(m)) => route.metric = m,
            Ok(RouteAttribute::Table(t)) => route.table = t,
            Ok(_) => {}
            Err(e) => log::debug!("netlink: route: skipping attribute type {}: {e}", nla.kind()),
        }
    }
    Ok(Some(route))
}

/// Like iproute2, give loopback-range IPv4 addresses host scope and everything else global
/// scope; the kernel derives IPv6 scopes itself.
fn addr_scope(addr: IpAddr) -> AddressScope {
    match addr {
        IpAddr::V4(v4) if v4.is_loopback() => AddressScope::Host,
        _ => AddressScope::Universe,
    }
}

fn addr_header(index: u32, addr: IpAddr, prefix: u8) -> AddressHeader {
    AddressHeader {
        family: Family::of(addr).af(),
        prefix_len: prefix,
        index,
        ..AddressHeader::default()
    }
}

/// The `RTM_NEWADDR` body for `a`.
fn new_addr_message(a: &NewAddr) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header = addr_header(a.index, a.addr, a.prefix);
    msg.header.scope = addr_scope(a.addr);
    let mut flags = AddressFlags::empty();
    if a.nodad {
        flags |= AddressFlags::Nodad;
    }
    if a.noprefixroute {
        flags |= AddressFlags::Noprefixroute;
    }
    // Kernels older than 3.14 read only the header byte, so the low bits go there too.
    msg.header.flags = AddressHeaderFlags::from_bits_truncate((flags.bits() & 0xff) as u8);
    match a.addr {
        IpAddr::V4(_) => {
            // IFA_LOCAL is the address; IFA_ADDRESS would be the peer on point-to-point links
            // and must equal IFA_LOCAL otherwise, as `ip addr add` sends it.
            msg.attributes.push(AddressAttribute::Local(a.addr));
            msg.attributes.push(AddressAttribute::Address(a.addr));
            if let Some(brd) = a.broadcast {
                msg.attributes.push(AddressAttribute::Broadcast(brd));
            }
            if let Some(label) = &a.label {
                msg.attributes.push(AddressAttribute::Label(label.clone()));
            }
        }
        IpAddr::V6(_) => {
            msg.attributes.push(AddressAttribute::Address(a.addr));
            if let Some(preferred) = a.preferred_lft {
                let mut ci = CacheInfo::default();
                ci.ifa_preferred = preferred;
                ci.ifa_valid = u32::MAX; // INFINITY_LIFE_TIME
                msg.attributes.push(AddressAttribute::CacheInfo(ci));
            }
        }
    }
    if !flags.is_empty() {
        msg.attributes.push(AddressAttribute::Flags(flags));
    }
    msg
}

/// The `RTM_DELADDR` body: the same selectors `ip addr del` sends.
fn del_addr_message(index: u32, addr: IpAddr, prefix: u8) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header = addr_header(index, addr, prefix);
    if addr.is_ipv4() {
        msg.attributes.push(AddressAttribute::Local(addr));
    }
    msg.attributes.push(AddressAttribute::Address(addr));
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQ: u32 = 7;
    const PORT: u32 = 4242;

    /// A raw netlink message: 16-byte header, payload, padding to 4 bytes.
    fn nlmsg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len();
        let mut v = Vec::with_capacity(nlmsg_align(len));
        v.extend_from_slice(&(len as u32).to_ne_bytes());
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(&flags.to_ne_bytes());
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(&PORT.to_ne_bytes());
        v.extend_from_slice(payload);
        v.resize(nlmsg_align(len), 0);
        v
    }

    fn emit(msg: &impl Emitable) -> Vec<u8> {
        let mut buf = vec![0; msg.buffer_len()];
        msg.emit(&mut buf);
        buf
    }

    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let len = 4 + value.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(len as u16).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(value);
        v.resize(nlmsg_align(len), 0);
        v
    }

    fn error_payload(code: i32) -> Vec<u8> {
        let mut p = code.to_ne_bytes().to_vec();
        // The capped echo of our request header.
        p.extend_from_slice(&nlmsg(libc::RTM_NEWADDR, NLM_F_REQUEST, SEQ, &[])[..16]);
        p
    }

    /// (message type, payload) pairs handed to the sink.
    type Seen = Vec<(u16, Vec<u8>)>;

    fn run(data: &[u8]) -> (Result<bool, NetlinkError>, Seen, ReplyState) {
        let mut state = ReplyState::new("test op", SEQ, PORT);
        let mut seen = Vec::new();
        let res = process_datagram(data, &mut state, &mut |ty, p: &[u8]| {
            seen.push((ty, p.to_vec()));
            Ok(())
        });
        (res, seen, state)
    }

    fn v4_addr_message() -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header = addr_header(3, "192.0.2.10".parse().unwrap(), 24);
        msg.attributes.push(AddressAttribute::Address("192.0.2.10".parse().unwrap()));
        msg.attributes.push(AddressAttribute::Local("192.0.2.10".parse().unwrap()));
        msg.attributes.push(AddressAttribute::Label("eth0:vip".to_owned()));
        msg
    }

    #[test]
    fn ack_ends_the_exchange() {
        let (res, seen, _) = run(&nlmsg(NLMSG_ERROR, 0, SEQ, &error_payload(0)));
        assert!(res.unwrap());
        assert!(seen.is_empty());
    }

    #[test]
    fn negative_errno_becomes_kernel_error() {
        let data = nlmsg(NLMSG_ERROR, NLM_F_CAPPED, SEQ, &error_payload(-libc::EEXIST));
        let err = run(&data).0.unwrap_err();
        assert_eq!(err.errno(), Some(libc::EEXIST));
        match err {
            NetlinkError::Kernel { op, message, .. } => {
                assert_eq!(op, "test op");
                assert_eq!(message, None);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn extended_ack_text_is_kept() {
        let mut payload = error_payload(-libc::EINVAL);
        payload.extend(nla(NLMSGERR_ATTR_MSG, b"Invalid prefix length\0"));
        let flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
        let err = run(&nlmsg(NLMSG_ERROR, flags, SEQ, &payload)).0.unwrap_err();
        match &err {
            NetlinkError::Kernel { errno, message, .. } => {
                assert_eq!(*errno, libc::EINVAL);
                assert_eq!(message.as_deref(), Some("Invalid prefix length"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(err.to_string().starts_with("test op: "), "{err}");
        assert!(err.to_string().ends_with("(Invalid prefix length)"), "{err}");
    }

    #[test]
    fn extended_ack_after_uncapped_echo() {
        // Without NLM_F_CAPPED the whole request (here 16 + 8 bytes) is echoed first.
        let mut payload = (-libc::EPERM).to_ne_bytes().to_vec();
        payload.extend(nlmsg(libc::RTM_NEWADDR, NLM_F_REQUEST, SEQ, &[1, 2, 3, 4, 5, 6, 7, 8]));
        payload.extend(nla(NLMSGERR_ATTR_MSG, b"nope\0"));
        let err = run(&nlmsg(NLMSG_ERROR, NLM_F_ACK_TLVS, SEQ, &payload)).0.unwrap_err();
        assert_eq!(err.errno(), Some(libc::EPERM));
        assert!(matches!(err, NetlinkError::Kernel { message: Some(ref m), .. } if m == "nope"));
    }

    #[test]
    fn dump_messages_go_to_the_sink_until_done() {
        let addr = emit(&v4_addr_message());
        let mut data = nlmsg(libc::RTM_NEWADDR, 2, SEQ, &addr);
        data.extend(nlmsg(libc::RTM_NEWADDR, 2, SEQ, &addr));
        let (res, seen, state) = run(&data);
        assert!(!res.unwrap(), "no NLMSG_DONE yet");
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0], (libc::RTM_NEWADDR, addr.clone()));
        assert!(!state.interrupted);

        let (res, seen, _) = run(&nlmsg(NLMSG_DONE, 2, SEQ, &0i32.to_ne_bytes()));
        assert!(res.unwrap());
        assert!(seen.is_empty());
    }

    #[test]
    fn failed_dump_reports_done_code() {
        let err = run(&nlmsg(NLMSG_DONE, 2, SEQ, &(-libc::EMSGSIZE).to_ne_bytes())).0.unwrap_err();
        assert_eq!(err.errno(), Some(libc::EMSGSIZE));
    }

    #[test]
    fn empty_done_from_old_kernels_ends_the_dump() {
        assert!(run(&nlmsg(NLMSG_DONE, 2, SEQ, &[])).0.unwrap());
    }

    #[test]
    fn other_sequence_numbers_are_skipped() {
        let mut data = nlmsg(libc::RTM_NEWADDR, 2, SEQ - 1, &emit(&v4_addr_message()));
        data.extend(nlmsg(NLMSG_ERROR, 0, SEQ - 1, &error_payload(-libc::EEXIST)));
        data.extend(nlmsg(NLMSG_ERROR, 0, SEQ, &error_payload(0)));
        let (res, seen, _) = run(&data);
        assert!(res.unwrap());
        assert!(seen.is_empty());
    }

    #[test]
    fn dump_intr_flag_is_noticed() {
        let data = nlmsg(libc::RTM_NEWADDR, 2 | NLM_F_DUMP_INTR, SEQ, &emit(&v4_addr_message()));
        let (_, _, state) = run(&data);
        assert!(state.interrupted);
    }

    #[test]
    fn truncated_datagram_is_a_decode_error() {
        let data = nlmsg(libc::RTM_NEWADDR, 2, SEQ, &emit(&v4_addr_message()));
        let err = run(&data[..data.len() - 8]).0.unwrap_err();
        assert!(matches!(err, NetlinkError::Decode(_)), "{err:?}");
    }

    #[test]
    fn request_encoding_sets_flags_and_sequence() {
        let msg = RouteNetlinkMessage::GetAddress(AddressMessage::default());
        let bytes = encode_request(msg, NLM_F_DUMP, 99);
        let buf = NetlinkBuffer::new_checked(&bytes[..]).unwrap();
        assert_eq!(buf.length() as usize, bytes.len());
        assert_eq!(buf.message_type(), libc::RTM_GETADDR);
        assert_eq!(buf.flags(), NLM_F_REQUEST | NLM_F_DUMP);
        assert_eq!(buf.sequence_number(), 99);
    }

    #[test]
    fn decodes_v4_address_preferring_local() {
        let mut msg = v4_addr_message();
        // A point-to-point address: IFA_ADDRESS is the peer.
        msg.attributes[0] = AddressAttribute::Address("192.0.2.99".parse().unwrap());
        let entry = decode_addr(&emit(&msg)).unwrap().unwrap();
        assert_eq!(
            entry,
            AddrEntry {
                index: 3,
                addr: "192.0.2.10".parse().unwrap(),
                prefix: 24,
                label: Some("eth0:vip".to_owned()),
                tentative: false,
                dadfailed: false,
            }
        );
    }

    #[test]
    fn header_flags_used_without_ifa_flags() {
        let mut msg = AddressMessage::default();
        msg.header = addr_header(2, "2001:db8::5".parse().unwrap(), 64);
        msg.header.flags = AddressHeaderFlags::Tentative;
        msg.attributes.push(AddressAttribute::Address("2001:db8::5".parse().unwrap()));
        let entry = decode_addr(&emit(&msg)).unwrap().unwrap();
        assert_eq!(entry.addr, "2001:db8::5".parse::<IpAddr>().unwrap());
        assert!(entry.tentative);
        assert!(!entry.dadfailed);
        assert_eq!(entry.label, None);
    }

    #[test]
    fn ifa_flags_override_header_flags() {
        let mut msg = AddressMessage::default();
        msg.header = addr_header(2, "2001:db8::5".parse().unwrap(), 64);
        msg.header.flags = AddressHeaderFlags::Tentative;
        msg.attributes.push(AddressAttribute::Address("2001:db8::5".parse().unwrap()));
        msg.attributes.push(AddressAttribute::Flags(AddressFlags::Dadfailed));
        let entry = decode_addr(&emit(&msg)).unwrap().unwrap();
        assert!(!entry.tentative);
        assert!(entry.dadfailed);
    }

    #[test]
    fn address_without_ip_is_skipped() {
        let mut msg = AddressMessage::default();
        msg.header = addr_header(2, "192.0.2.1".parse().unwrap(), 24);
        assert_eq!(decode_addr(&emit(&msg)).unwrap(), None);
    }

    #[test]
    fn bad_address_attribute_is_skipped_not_fatal() {
        let mut bytes = emit(&v4_addr_message());
        // IFA_BROADCAST must be 4 bytes; the crate rejects 3.
        bytes.extend(nla(4, &[1, 2, 3]));
        let entry = decode_addr(&bytes).unwrap().unwrap();
        assert_eq!(entry.addr, "192.0.2.10".parse::<IpAddr>().unwrap());
        assert!(
            NetlinkMessage::<RouteNetlinkMessage>::deserialize(&nlmsg(
                libc::RTM_NEWADDR,
                0,
                SEQ,
                &bytes
            ))
            .is_err()
        );
    }

    fn link_message(flags: LinkFlags) -> LinkMessage {
        let mut msg = LinkMessage::default();
        msg.header.index = 5;
        msg.header.link_layer_type = LinkLayerType::Ether;
        msg.header.flags = flags;
        msg.attributes.push(LinkAttribute::IfName("veth0".to_owned()));
        msg.attributes.push(LinkAttribute::Mtu(1500));
        msg.attributes.push(LinkAttribute::Address(vec![0x02, 0, 0x5e, 0x10, 0, 1]));
        msg.attributes.push(LinkAttribute::Broadcast(vec![0xff; 6]));
        msg
    }

    #[test]
    fn decodes_link() {
        let link = decode_link(&emit(&link_message(LinkFlags::Up | LinkFlags::LowerUp))).unwrap();
        assert_eq!(
            link,
            Link {
                index: 5,
                name: "veth0".to_owned(),
                admin_up: true,
                lower_up: true,
                ether: true,
                mac: Some([0x02, 0, 0x5e, 0x10, 0, 1]),
            }
        );
    }

    #[test]
    fn link_without_carrier_and_odd_hw_address() {
        let mut msg = link_message(LinkFlags::Up | LinkFlags::Noarp);
        msg.header.link_layer_type = LinkLayerType::Tunnel;
        msg.attributes[2] = LinkAttribute::Address(vec![192, 0, 2, 1]);
        let link = decode_link(&emit(&msg)).unwrap();
        assert!(link.admin_up && !link.lower_up && !link.ether);
        assert_eq!(link.mac, None);
    }

    #[test]
    fn bad_link_attribute_is_skipped_not_fatal() {
        let mut bytes = emit(&link_message(LinkFlags::Up));
        // IFLA_MTU (4) with a 2-byte value.
        bytes.extend(nla(4, &[0, 5]));
        let link = decode_link(&bytes).unwrap();
        assert_eq!(link.name, "veth0");
    }

    #[test]
    fn link_without_name_is_a_decode_error() {
        let mut msg = link_message(LinkFlags::Up);
        msg.attributes.remove(0);
        assert!(matches!(decode_link(&emit(&msg)), Err(NetlinkError::Decode(_))));
    }

    fn route_message(family: AddressFamily) -> RouteMessage {
        let mut msg = RouteMessage::default();
        msg.header.address_family = family;
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        msg.header.kind = RouteType::Unicast;
        msg
    }

    #[test]
    fn decodes_connected_route() {
        let mut msg = route_message(AddressFamily::Inet);
        msg.header.destination_prefix_length = 24;
        msg.attributes.push(RouteAttribute::Table(254));
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet("192.0.2.0".parse().unwrap())));
        msg.attributes.push(RouteAttribute::Oif(5));
        let route = decode_route(&emit(&msg)).unwrap().unwrap();
        assert_eq!(
            route,
            RouteEntry {
                table: 254,
                dst: "192.0.2.0".parse().unwrap(),
                prefix: 24,
                oif: Some(5),
                gateway: None,
                metric: 0,
                unicast: true,
            }
        );
    }

    #[test]
    fn decodes_default_route_in_high_table() {
        let mut msg = route_message(AddressFamily::Inet6);
        // Tables above 255 only fit RTA_TABLE; the header byte then says RT_TABLE_UNSPEC.
        msg.header.table = RouteHeader::RT_TABLE_UNSPEC;
        msg.attributes.push(RouteAttribute::Table(1000));
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet6("2001:db8::1".parse().unwrap())));
        msg.attributes.push(RouteAttribute::Priority(1024));
        let route = decode_route(&emit(&msg)).unwrap().unwrap();
        assert_eq!(route.table, 1000);
        assert_eq!(route.dst, IpAddr::V6(Ipv6Addr::UNSPECIFIED));
        assert_eq!(route.prefix, 0);
        assert_eq!(route.gateway, Some("2001:db8::1".parse().unwrap()));
        assert_eq!(route.metric, 1024);
        assert_eq!(route.oif, None);
    }

    #[test]
    fn table_falls_back_to_header_and_types_are_kept() {
        let mut msg = route_message(AddressFamily::Inet);
        msg.header.table = 255;
        msg.header.kind = RouteType::Local;
        let route = decode_route(&emit(&msg)).unwrap().unwrap();
        assert_eq!(route.table, 255);
        assert!(!route.unicast);
        msg.header.kind = RouteType::BlackHole;
        assert!(!decode_route(&emit(&msg)).unwrap().unwrap().unicast);
    }

    #[test]
    fn non_ip_routes_are_skipped() {
        let msg = route_message(AddressFamily::Mpls);
        assert_eq!(decode_route(&emit(&msg)).unwrap(), None);
    }

    fn new_addr(addr: &str) -> NewAddr {
        NewAddr {
            index: 3,
            addr: addr.parse().unwrap(),
            prefix: 24,
            broadcast: None,
            label: None,
            nodad: false,
            noprefixroute: false,
            preferred_lft: None,
        }
    }

    #[test]
    fn new_v4_address_message() {
        let mut a = new_addr("192.0.2.100");
        a.broadcast = Some("192.0.2.255".parse().unwrap());
        a.label = Some("veth0:vip".to_owned());
        a.noprefixroute = true;
        a.preferred_lft = Some(0); // ignored for IPv4
        let msg = new_addr_message(&a);
        assert_eq!(msg.header.family, AddressFamily::Inet);
        assert_eq!(msg.header.prefix_len, 24);
        assert_eq!(msg.header.index, 3);
        assert_eq!(msg.header.scope, AddressScope::Universe);
        // NOPREFIXROUTE (0x200) does not fit the header byte.
        assert_eq!(msg.header.flags, AddressHeaderFlags::empty());
        let ip: IpAddr = "192.0.2.100".parse().unwrap();
        assert_eq!(
            msg.attributes,
            vec![
                AddressAttribute::Local(ip),
                AddressAttribute::Address(ip),
                AddressAttribute::Broadcast("192.0.2.255".parse().unwrap()),
                AddressAttribute::Label("veth0:vip".to_owned()),
                AddressAttribute::Flags(AddressFlags::Noprefixroute),
            ]
        );
        // And it survives the wire: the emitted bytes decode to what we asked for.
        let entry = decode_addr(&emit(&msg)).unwrap().unwrap();
        assert_eq!((entry.addr, entry.prefix), (ip, 24));
        assert_eq!(entry.label.as_deref(), Some("veth0:vip"));
    }

    #[test]
    fn new_v6_address_message() {
        let mut a = new_addr("2001:db8::100");
        a.prefix = 64;
        a.nodad = true;
        a.label = Some("ignored".to_owned());
        a.broadcast = Some("192.0.2.255".parse().unwrap());
        a.preferred_lft = Some(0);
        let msg = new_addr_message(&a);
        assert_eq!(msg.header.family, AddressFamily::Inet6);
        assert_eq!(msg.header.flags, AddressHeaderFlags::Nodad);
        let mut ci = CacheInfo::default();
        ci.ifa_valid = u32::MAX;
        assert_eq!(
            msg.attributes,
            vec![
                AddressAttribute::Address(a.addr),
                AddressAttribute::CacheInfo(ci),
                AddressAttribute::Flags(AddressFlags::Nodad),
            ]
        );
        // Byte level: IFA_CACHEINFO is type 6, 4 + 16 bytes, preferred 0 then valid all-ones.
        let bytes = emit(&msg);
        let tail = &bytes[8 + 20..8 + 20 + 20];
        assert_eq!(&tail[..4], &[20, 0, 6, 0]);
        assert_eq!(&tail[4..8], &[0; 4]);
        assert_eq!(&tail[8..12], &[0xff; 4]);
    }

    #[test]
    fn loopback_v4_gets_host_scope() {
        let msg = new_addr_message(&new_addr("127.0.0.2"));
        assert_eq!(msg.header.scope, AddressScope::Host);
    }

    #[test]
    fn del_address_messages() {
        let v4: IpAddr = "192.0.2.100".parse().unwrap();
        let msg = del_addr_message(3, v4, 24);
        assert_eq!(msg.header.prefix_len, 24);
        assert_eq!(
            msg.attributes,
            vec![AddressAttribute::Local(v4), AddressAttribute::Address(v4)]
        );
        let v6: IpAddr = "2001:db8::100".parse().unwrap();
        let msg = del_addr_message(3, v6, 64);
        assert_eq!(msg.header.family, AddressFamily::Inet6);
        assert_eq!(msg.attributes, vec![AddressAttribute::Address(v6)]);
    }

    #[test]
    fn io_errno_is_exposed() {
        let err = NetlinkError::Io(io::Error::from_raw_os_error(libc::EPERM));
        assert_eq!(err.errno(), Some(libc::EPERM));
        assert_eq!(NetlinkError::Decode("x".to_owned()).errno(), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Datagrams of several messages: well-formed headers (our sequence number or another,
        /// every interesting type) around arbitrary payloads, then arbitrary trailing bytes.
        fn datagram() -> impl Strategy<Value = Vec<u8>> {
            let ty = prop_oneof![
                Just(NLMSG_NOOP),
                Just(NLMSG_ERROR),
                Just(NLMSG_DONE),
                Just(NLMSG_OVERRUN),
                Just(libc::RTM_NEWLINK),
                Just(libc::RTM_NEWADDR),
                Just(libc::RTM_NEWROUTE),
                any::<u16>(),
            ];
            let flags = prop_oneof![
                Just(0u16),
                Just(NLM_F_DUMP_INTR),
                Just(NLM_F_ACK_TLVS),
                Just(NLM_F_ACK_TLVS | NLM_F_CAPPED),
                any::<u16>()
            ];
            let seq = prop_oneof![Just(SEQ), any::<u32>()];
            let msg = (ty, flags, seq, prop::collection::vec(any::<u8>(), 0..48))
                .prop_map(|(ty, flags, seq, payload)| nlmsg(ty, flags, seq, &payload));
            (prop::collection::vec(msg, 0..4), prop::collection::vec(any::<u8>(), 0..24)).prop_map(
                |(msgs, tail)| {
                    let mut d = msgs.concat();
                    d.extend(tail);
                    d
                },
            )
        }

        /// Attribute lists: well-formed TLVs of any kind around arbitrary values, then noise.
        fn attributes() -> impl Strategy<Value = Vec<u8>> {
            (
                prop::collection::vec((0u16..40, prop::collection::vec(any::<u8>(), 0..20)), 0..6),
                prop::collection::vec(any::<u8>(), 0..8),
            )
                .prop_map(|(tlvs, tail)| {
                    let mut v: Vec<u8> = tlvs.iter().flat_map(|(k, val)| nla(*k, val)).collect();
                    v.extend(tail);
                    v
                })
        }

        proptest! {
            /// Whatever the kernel (or anything on the socket) sends, the walk ends with a
            /// verdict or an error, never a panic or a loop.
            #[test]
            fn any_datagram_is_walked(data in prop_oneof![prop::collection::vec(any::<u8>(), 0..96), datagram()]) {
                let _ = run(&data);
            }

            #[test]
            fn any_link_message_is_decoded(header in prop::collection::vec(any::<u8>(), 0..20), attrs in attributes()) {
                let mut payload = header;
                payload.extend(attrs);
                if let Ok(link) = decode_link(&payload) {
                    prop_assert!(!link.name.is_empty());
                }
            }

            #[test]
            fn any_address_message_is_decoded(header in prop::collection::vec(any::<u8>(), 0..12), attrs in attributes()) {
                let mut payload = header;
                payload.extend(attrs);
                let _ = decode_addr(&payload);
            }

            #[test]
            fn any_route_message_is_decoded(header in prop::collection::vec(any::<u8>(), 0..16), attrs in attributes()) {
                let mut payload = header;
                payload.extend(attrs);
                let _ = decode_route(&payload);
            }

            /// An address message as the kernel builds it decodes to the address it carries.
            #[test]
            fn address_messages_decode_to_their_address(
                index in 1u32..,
                v4 in any::<[u8; 4]>(),
                prefix in 0u8..=32,
                label in "[a-z0-9:]{1,15}",
            ) {
                let ip = IpAddr::from(v4);
                let mut msg = AddressMessage::default();
                msg.header = addr_header(index, ip, prefix);
                msg.attributes.push(AddressAttribute::Local(ip));
                msg.attributes.push(AddressAttribute::Label(label.clone()));
                let got = decode_addr(&emit(&msg)).unwrap().unwrap();
                prop_assert_eq!((got.index, got.addr, got.prefix), (index, ip, prefix));
                prop_assert_eq!(got.label, Some(label));
            }
        }
    }
}
