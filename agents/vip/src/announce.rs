//! Telling the neighbours where the VIP now lives, and checking nobody else holds it.
//!
//! After a failover the neighbours' ARP/ND caches still point at the old node's MAC. The shell
//! agents fork `send_arp` and `send_ua` (resource-agents' `tools/send_arp.linux.c` and
//! `heartbeat/IPv6addr_utils.c`); this module sends the same packets from the agent's own
//! process:
//!
//! * IPv4: gratuitous ARP *requests* (op 1, sender IP = target IP = VIP, target MAC =
//!   ff:ff:ff:ff:ff:ff) to the Ethernet broadcast address over an `AF_PACKET`/`SOCK_DGRAM`
//!   socket, so the kernel writes the Ethernet header.
//! * IPv6: unsolicited neighbour advertisements (RFC 4861 §7.2.6: Override flag only, target
//!   link-layer address option) to ff02::1 over a raw ICMPv6 socket; the kernel fills in the
//!   checksum.
//! * An RFC 5227 ARP probe, to find out before adding an IPv4 VIP whether another host still
//!   answers for it.
//!
//! Only Ethernet links are supported: the ARP packets are built with hardware type 1 and
//! 6-byte addresses.

// Raw AF_PACKET and ICMPv6 sockets have no safe wrapper in std, so this module calls libc
// directly. Each unsafe block is a single system call on a descriptor that is wrapped in an
// OwnedFd as soon as it exists.
#![allow(unsafe_code)]

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// ARP operation: request.
pub(crate) const ARP_REQUEST: u16 = 1;
/// ARP operation: reply.
#[cfg(test)]
pub(crate) const ARP_REPLY: u16 = 2;

const ARPHRD_ETHER: u16 = 1;
const ETHERTYPE_IPV4: u16 = 0x0800;
const ETH_BROADCAST: [u8; 6] = [0xff; 6];
/// `ICMP6_FILTER` from `<netinet/icmp6.h>`; libc does not export it.
const ICMP6_FILTER: libc::c_int = 1;
const ND_NEIGHBOR_ADVERT: u8 = 136;
/// Override flag in the first byte of the NA flags word (R = 0x80, S = 0x40, O = 0x20).
const NA_FLAG_OVERRIDE: u8 = 0x20;
/// NDP option: target link-layer address.
const ND_OPT_TARGET_LINKADDR: u8 = 2;
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// An Ethernet/IPv4 ARP packet (RFC 826), without the Ethernet header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ArpPacket {
    /// [`ARP_REQUEST`], or 2 for a reply.
    pub(crate) op: u16,
    /// Sender hardware address.
    pub(crate) sender_mac: [u8; 6],
    /// Sender protocol address; 0.0.0.0 in an RFC 5227 probe.
    pub(crate) sender_ip: Ipv4Addr,
    /// Target hardware address.
    pub(crate) target_mac: [u8; 6],
    /// Target protocol address.
    pub(crate) target_ip: Ipv4Addr,
}

/// Builds the 28-byte ARP payload for Ethernet and IPv4.
pub(crate) fn build_arp(
    op: u16,
    sender_mac: [u8; 6],
    sender_ip: Ipv4Addr,
    target_mac: [u8; 6],
    target_ip: Ipv4Addr,
) -> [u8; 28] {
    let mut p = [0u8; 28];
    p[0..2].copy_from_slice(&ARPHRD_ETHER.to_be_bytes());
    p[2..4].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    p[4] = 6; // hardware address length
    p[5] = 4; // protocol address length
    p[6..8].copy_from_slice(&op.to_be_bytes());
    p[8..14].copy_from_slice(&sender_mac);
    p[14..18].copy_from_slice(&sender_ip.octets());
    p[18..24].copy_from_slice(&target_mac);
    p[24..28].copy_from_slice(&target_ip.octets());
    p
}

/// Parses an ARP payload; `None` unless it is Ethernet/IPv4 ARP. Trailing bytes (Ethernet
/// padding) are ignored.
pub(crate) fn parse_arp(buf: &[u8]) -> Option<ArpPacket> {
    let p: &[u8; 28] = buf.get(..28)?.try_into().ok()?;
    let be16 = |i: usize| u16::from_be_bytes([p[i], p[i + 1]]);
    let mac = |i: usize| [p[i], p[i + 1], p[i + 2], p[i + 3], p[i + 4], p[i + 5]];
    let ip = |i: usize| Ipv4Addr::new(p[i], p[i + 1], p[i + 2], p[i + 3]);
    if be16(0) != ARPHRD_ETHER || be16(2) != ETHERTYPE_IPV4 || p[4] != 6 || p[5] != 4 {
        return None;
    }
    Some(ArpPacket {
        op: be16(6),
        sender_mac: mac(8),
        sender_ip: ip(14),
        target_mac: mac(18),
        target_ip: ip(24),
    })
}

/// Builds the 32-byte ICMPv6 unsolicited neighbour advertisement for `target` owned by `mac`,
/// with a zero checksum for the kernel to fill in.
pub(crate) fn build_unsolicited_na(target: Ipv6Addr, mac: [u8; 6]) -> [u8; 32] {
    let mut p = [0u8; 32];
    p[0] = ND_NEIGHBOR_ADVERT;
    // p[1] code 0, p[2..4] checksum (kernel), p[4..8] flags + reserved.
    p[4] = NA_FLAG_OVERRIDE;
    p[8..24].copy_from_slice(&target.octets());
    p[24] = ND_OPT_TARGET_LINKADDR;
    p[25] = 1; // option length in units of 8 bytes
    p[26..32].copy_from_slice(&mac);
    p
}

/// Sends `count` gratuitous ARP requests for `ip` from `mac` on `ifindex`: the first at once,
/// then one every `interval`, with no sleep after the last. Opens a socket for this alone; a
/// start that probes first uses [`ArpSocket::send_garp`] on the socket it probed with.
pub(crate) fn send_garp(
    ifindex: u32,
    mac: [u8; 6],
    ip: Ipv4Addr,
    count: u32,
    interval: Duration,
) -> io::Result<()> {
    let ifindex = c_ifindex(ifindex)?;
    // No bind: packet_snd() takes the interface and the ethertype from the destination
    // address, and binding with ETH_P_ARP would only make the kernel queue every ARP frame on
    // the link to a socket that never reads.
    let fd = socket(libc::AF_PACKET, libc::SOCK_DGRAM, 0)?;
    let dest = sockaddr_ll(ifindex, ETH_BROADCAST);
    let packet = build_arp(ARP_REQUEST, mac, ip, ETH_BROADCAST, ip);
    repeat(count, interval, || sendto(&fd, &packet, &dest))
}

/// Sends `count` unsolicited neighbour advertisements for `ip` from `mac` on `ifindex` to
/// ff02::1, spaced like [`send_garp`]. `ip` must already be configured and past duplicate
/// address detection (or added with `nodad`), or binding to it fails with `EADDRNOTAVAIL`.
pub(crate) fn send_unsolicited_na(
    ifindex: u32,
    mac: [u8; 6],
    ip: Ipv6Addr,
    count: u32,
    interval: Duration,
) -> io::Result<()> {
    let c_index = c_ifindex(ifindex)?;
    let fd = socket(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6)?;
    // While it is open, a raw ICMPv6 socket gets a copy of every ICMPv6 packet the host
    // receives; block them all since this one only sends.
    let block_all = [u32::MAX; 8];
    setsockopt(&fd, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &block_all)?;
    setsockopt(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_IF, &c_index)?;
    // RFC 4861 §7.1.2: receivers drop neighbour discovery packets whose hop limit is not 255.
    let hops: libc::c_int = 255;
    setsockopt(&fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_HOPS, &hops)?;
    // A link-local VIP needs its interface as scope id to be bindable.
    let scope = if is_unicast_link_local(ip) { ifindex } else { 0 };
    bind(&fd, &sockaddr_in6(ip, scope))?;
    let dest = sockaddr_in6(ALL_NODES, ifindex);
    let packet = build_unsolicited_na(ip, mac);
    repeat(count, interval, || sendto(&fd, &packet, &dest))
}

/// An `AF_PACKET` socket that hears and sends ARP on one interface, kept for a whole start:
/// every duplicate-address probe round and then the gratuitous ARPs go through it.
///
/// Why one socket: closing a packet socket waits for an RCU grace period in the kernel
/// (`packet_release` calls `synchronize_net`), about 15 ms on the benchmark machine, and a
/// start that opened one socket per probe round and one for the announcements paid that each
/// time. With `arp_bg`, the detached child that sends the remaining announcements inherits
/// this socket, so the last close (and its grace period) happens there, after start returned.
pub(crate) struct ArpSocket {
    fd: OwnedFd,
    ifindex: libc::c_int,
    mac: [u8; 6],
}

impl ArpSocket {
    /// Opens the socket on `ifindex`, for packets from `mac`.
    pub(crate) fn open(ifindex: u32, mac: [u8; 6]) -> io::Result<Self> {
        let ifindex = c_ifindex(ifindex)?;
        // Created with protocol 0 and then bound with ETH_P_ARP, so the socket only ever hears
        // ARP on this one interface (a non-zero protocol in socket() would listen on all of
        // them until bind).
        let fd = socket(libc::AF_PACKET, libc::SOCK_DGRAM, 0)?;
        let mut me = sockaddr_ll(ifindex, [0; 6]);
        me.sll_halen = 0;
        bind(&fd, &me)?;
        Ok(Self { fd, ifindex, mac })
    }

    /// RFC 5227 §2.1.1 probe for `ip`: broadcasts `probes` ARP probes (sender IP 0.0.0.0,
    /// target MAC zero; at least one) spread evenly over `wait`, and listens until `wait` has
    /// passed for an ARP packet whose sender IP is `ip` and whose sender MAC is not ours.
    /// Returns that MAC as soon as one arrives, or `None` if nobody claimed `ip`. What was
    /// queued on the socket before this call (during an earlier round, or the pause after
    /// it) is discarded first: each round judges only what answers its own probes, as it did
    /// with a fresh socket per round.
    pub(crate) fn probe(
        &self,
        ip: Ipv4Addr,
        probes: u32,
        wait: Duration,
    ) -> io::Result<Option<[u8; 6]>> {
        discard_queued(&self.fd)?;
        let dest = sockaddr_ll(self.ifindex, ETH_BROADCAST);
        let probe = build_arp(ARP_REQUEST, self.mac, Ipv4Addr::UNSPECIFIED, [0; 6], ip);
        let probes = probes.max(1);
        let start = Instant::now();
        let deadline = start + wait;
        let mut sent = 0;
        loop {
            let now = Instant::now();
            let next_probe = start + wait / probes * sent;
            if sent < probes && now >= next_probe {
                sendto(&self.fd, &probe, &dest)?;
                sent += 1;
                continue;
            }
            if let Some(other) = drain_claims(&self.fd, self.mac, ip)? {
                return Ok(Some(other));
            }
            if now >= deadline {
                return Ok(None);
            }
            let until = if sent < probes { next_probe.min(deadline) } else { deadline };
            poll_readable(&self.fd, until.saturating_duration_since(now))?;
        }
    }

    /// Sends `count` gratuitous ARP requests for `ip`, spaced like [`send_garp`].
    pub(crate) fn send_garp(&self, ip: Ipv4Addr, count: u32, interval: Duration) -> io::Result<()> {
        let dest = sockaddr_ll(self.ifindex, ETH_BROADCAST);
        let packet = build_arp(ARP_REQUEST, self.mac, ip, ETH_BROADCAST, ip);
        repeat(count, interval, || sendto(&self.fd, &packet, &dest))
    }
}

/// Reads and drops every packet queued on `fd`.
fn discard_queued(fd: &OwnedFd) -> io::Result<()> {
    let mut buf = [0u8; 128];
    loop {
        // SAFETY: buf is live and writable for the length passed; no address is asked for.
        let n = unsafe {
            libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT)
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::WouldBlock => return Ok(()),
                io::ErrorKind::Interrupted => {}
                _ => return Err(err),
            }
        }
    }
}

/// Reads every queued ARP packet and returns the sender MAC of the first that claims `ip`
/// from another MAC. Our own outgoing probes are looped back to packet sockets; skip them.
fn drain_claims(fd: &OwnedFd, mac: [u8; 6], ip: Ipv4Addr) -> io::Result<Option<[u8; 6]>> {
    let mut buf = [0u8; 128];
    loop {
        // SAFETY: zeroed bytes are a valid sockaddr_ll (plain integers and arrays).
        let mut from: libc::sockaddr_ll = unsafe { mem::zeroed() };
        let mut from_len = socklen::<libc::sockaddr_ll>();
        // SAFETY: buf and from are live, writable and as long as the lengths passed; the
        // kernel writes at most that much into each.
        let n = unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT,
                (&raw mut from).cast(),
                &mut from_len,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            return match err.kind() {
                io::ErrorKind::WouldBlock => Ok(None),
                io::ErrorKind::Interrupted => continue,
                _ => Err(err),
            };
        }
        if from.sll_pkttype == libc::PACKET_OUTGOING {
            continue;
        }
        let len = usize::try_from(n).unwrap_or(0).min(buf.len());
        if let Some(arp) = buf.get(..len).and_then(parse_arp)
            && is_claim(&arp, mac, ip)
        {
            return Ok(Some(arp.sender_mac));
        }
    }
}

/// RFC 5227 §2.1.1: a packet whose sender IP is the address being probed, from a MAC that is
/// not ours, means another host uses the address.
fn is_claim(arp: &ArpPacket, mac: [u8; 6], ip: Ipv4Addr) -> bool {
    arp.sender_ip == ip && arp.sender_mac != mac
}

/// Runs `send` `count` times with `interval` between runs (not after the last).
fn repeat(
    count: u32,
    interval: Duration,
    mut send: impl FnMut() -> io::Result<()>,
) -> io::Result<()> {
    for i in 0..count {
        if i > 0 {
            std::thread::sleep(interval);
        }
        send()?;
    }
    Ok(())
}

fn is_unicast_link_local(ip: Ipv6Addr) -> bool {
    ip.segments()[0] & 0xffc0 == 0xfe80
}

fn c_ifindex(ifindex: u32) -> io::Result<libc::c_int> {
    libc::c_int::try_from(ifindex).ok().filter(|&i| i > 0).ok_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, format!("bad ifindex {ifindex}"))
    })
}

fn socklen<T>() -> libc::socklen_t {
    // Socket address and option types are a few dozen bytes; the cast cannot truncate.
    mem::size_of::<T>() as libc::socklen_t
}

fn socket(domain: libc::c_int, ty: libc::c_int, protocol: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: plain system call with integer arguments.
    let fd = unsafe { libc::socket(domain, ty | libc::SOCK_CLOEXEC, protocol) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a freshly created descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Link-layer address for the ARP ethertype on `ifindex`; `addr` is the destination MAC.
fn sockaddr_ll(ifindex: libc::c_int, addr: [u8; 6]) -> libc::sockaddr_ll {
    // SAFETY: zeroed bytes are a valid sockaddr_ll (plain integers and arrays).
    let mut sll: libc::sockaddr_ll = unsafe { mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as libc::c_ushort;
    sll.sll_protocol = (libc::ETH_P_ARP as u16).to_be();
    sll.sll_ifindex = ifindex;
    sll.sll_halen = 6;
    sll.sll_addr[..6].copy_from_slice(&addr);
    sll
}

fn sockaddr_in6(ip: Ipv6Addr, scope_id: u32) -> libc::sockaddr_in6 {
    // SAFETY: zeroed bytes are a valid sockaddr_in6 (plain integers and arrays).
    let mut sin6: libc::sockaddr_in6 = unsafe { mem::zeroed() };
    sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    sin6.sin6_addr.s6_addr = ip.octets();
    sin6.sin6_scope_id = scope_id;
    sin6
}

fn setsockopt<T>(fd: &OwnedFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
    // SAFETY: value points to a live T and the length passed is size_of::<T>().
    let rc = unsafe {
        libc::setsockopt(fd.as_raw_fd(), level, name, (value as *const T).cast(), socklen::<T>())
    };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// `bind(2)` with one of the libc sockaddr structs.
fn bind<A>(fd: &OwnedFd, addr: &A) -> io::Result<()> {
    // SAFETY: addr points to a live socket address struct of the length passed.
    let rc = unsafe { libc::bind(fd.as_raw_fd(), (addr as *const A).cast(), socklen::<A>()) };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

/// `sendto(2)` of one whole datagram to one of the libc sockaddr structs.
fn sendto<A>(fd: &OwnedFd, packet: &[u8], dest: &A) -> io::Result<()> {
    loop {
        // SAFETY: packet and dest are live for the call, with the lengths passed.
        let n = unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                (dest as *const A).cast(),
                socklen::<A>(),
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        if usize::try_from(n).ok() != Some(packet.len()) {
            return Err(io::Error::new(io::ErrorKind::WriteZero, "short send of a datagram"));
        }
        return Ok(());
    }
}

/// Waits up to `timeout` for `fd` to become readable; a signal just ends the wait early.
fn poll_readable(fd: &OwnedFd, timeout: Duration) -> io::Result<()> {
    // Round up, so that a wait of a few microseconds does not become a busy loop of 0 ms polls.
    let ms = timeout.as_micros().div_ceil(1000);
    let ms = libc::c_int::try_from(ms).unwrap_or(libc::c_int::MAX);
    let mut pfd = libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 };
    // SAFETY: pfd is one live pollfd, matching nfds = 1.
    let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
    if rc < 0 {
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);

    #[test]
    fn gratuitous_arp_bytes() {
        let p = build_arp(ARP_REQUEST, MAC, VIP, ETH_BROADCAST, VIP);
        #[rustfmt::skip]
        let want = [
            0x00, 0x01,                         // hrd: Ethernet
            0x08, 0x00,                         // pro: IPv4
            6, 4,                               // hln, pln
            0x00, 0x01,                         // op: request
            0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, // sender MAC
            192, 0, 2, 100,                     // sender IP
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // target MAC (send_arp copies the broadcast)
            192, 0, 2, 100,                     // target IP
        ];
        assert_eq!(p, want);
    }

    #[test]
    fn probe_bytes() {
        let p = build_arp(ARP_REQUEST, MAC, Ipv4Addr::UNSPECIFIED, [0; 6], VIP);
        assert_eq!(&p[..8], &[0, 1, 8, 0, 6, 4, 0, 1]);
        assert_eq!(&p[8..14], &MAC);
        assert_eq!(&p[14..18], &[0, 0, 0, 0]);
        assert_eq!(&p[18..24], &[0; 6]);
        assert_eq!(&p[24..28], &[192, 0, 2, 100]);
    }

    #[test]
    fn parse_round_trip_with_padding() {
        let other = [0x02, 0, 0, 0, 0, 0x99];
        let mut frame = build_arp(ARP_REPLY, other, VIP, MAC, Ipv4Addr::UNSPECIFIED).to_vec();
        frame.extend_from_slice(&[0; 18]); // Ethernet minimum-size padding
        assert_eq!(
            parse_arp(&frame),
            Some(ArpPacket {
                op: ARP_REPLY,
                sender_mac: other,
                sender_ip: VIP,
                target_mac: MAC,
                target_ip: Ipv4Addr::UNSPECIFIED,
            })
        );
    }

    #[test]
    fn parse_rejects_short_and_foreign_packets() {
        let p = build_arp(ARP_REQUEST, MAC, VIP, ETH_BROADCAST, VIP);
        assert_eq!(parse_arp(&p[..27]), None);
        assert_eq!(parse_arp(&[]), None);
        let mut ib = p;
        ib[1] = 32; // InfiniBand hardware type
        assert_eq!(parse_arp(&ib), None);
        let mut v6 = p;
        v6[2..4].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(parse_arp(&v6), None);
        let mut long_hw = p;
        long_hw[4] = 20;
        assert_eq!(parse_arp(&long_hw), None);
    }

    #[test]
    fn claims() {
        let other = [0x02, 0, 0, 0, 0, 0x99];
        let reply = parse_arp(&build_arp(ARP_REPLY, other, VIP, MAC, Ipv4Addr::UNSPECIFIED));
        assert!(is_claim(&reply.unwrap(), MAC, VIP));
        // A gratuitous ARP from the other holder counts too.
        let garp = parse_arp(&build_arp(ARP_REQUEST, other, VIP, ETH_BROADCAST, VIP)).unwrap();
        assert!(is_claim(&garp, MAC, VIP));
        // Our own packets and other addresses do not.
        let ours = parse_arp(&build_arp(ARP_REQUEST, MAC, VIP, ETH_BROADCAST, VIP)).unwrap();
        assert!(!is_claim(&ours, MAC, VIP));
        let probe =
            parse_arp(&build_arp(ARP_REQUEST, other, Ipv4Addr::UNSPECIFIED, [0; 6], VIP)).unwrap();
        assert!(!is_claim(&probe, MAC, VIP));
        let neighbour =
            parse_arp(&build_arp(ARP_REPLY, other, Ipv4Addr::new(192, 0, 2, 1), MAC, VIP)).unwrap();
        assert!(!is_claim(&neighbour, MAC, VIP));
    }

    #[test]
    fn unsolicited_na_bytes() {
        let target: Ipv6Addr = "2001:db8::100".parse().unwrap();
        let p = build_unsolicited_na(target, MAC);
        #[rustfmt::skip]
        let want = [
            136, 0,                 // type: neighbour advertisement, code 0
            0, 0,                   // checksum, filled in by the kernel
            0x20, 0, 0, 0,          // flags: Override only; reserved
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, // target
            2, 1,                   // option: target link-layer address, 8 bytes
            0x02, 0x00, 0x5e, 0x10, 0x00, 0x01,
        ];
        assert_eq!(p, want);
    }

    #[test]
    fn link_local_detection() {
        assert!(is_unicast_link_local("fe80::1".parse().unwrap()));
        assert!(is_unicast_link_local("febf::1".parse().unwrap()));
        assert!(!is_unicast_link_local("fec0::1".parse().unwrap()));
        assert!(!is_unicast_link_local("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn repeat_sleeps_only_between_sends() {
        let interval = Duration::from_millis(30);
        let mut times = Vec::new();
        let start = Instant::now();
        repeat(3, interval, || {
            times.push(start.elapsed());
            Ok(())
        })
        .unwrap();
        assert_eq!(times.len(), 3);
        assert!(times[0] < interval, "first send is immediate: {times:?}");
        assert!(times[2] >= interval * 2, "{times:?}");
        assert!(start.elapsed() < interval * 3, "no sleep after the last: {:?}", start.elapsed());
        assert!(repeat(0, interval, || unreachable!()).is_ok());
    }

    #[test]
    fn repeat_stops_at_the_first_error() {
        let mut calls = 0;
        let res = repeat(5, Duration::ZERO, || {
            calls += 1;
            Err(io::Error::from_raw_os_error(libc::ENETDOWN))
        });
        assert_eq!(res.unwrap_err().raw_os_error(), Some(libc::ENETDOWN));
        assert_eq!(calls, 1);
    }

    #[test]
    fn bad_ifindex_is_invalid_input() {
        assert_eq!(c_ifindex(0).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(c_ifindex(u32::MAX).unwrap_err().kind(), io::ErrorKind::InvalidInput);
        assert_eq!(c_ifindex(7).unwrap(), 7);
        let err = send_garp(0, MAC, VIP, 1, Duration::ZERO).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_frame_is_an_arp_packet_or_not(frame in prop::collection::vec(any::<u8>(), 0..64)) {
                if let Some(p) = parse_arp(&frame) {
                    let again = build_arp(p.op, p.sender_mac, p.sender_ip, p.target_mac, p.target_ip);
                    prop_assert_eq!(&again[..], &frame[..28]);
                }
            }

            /// What is built parses back, whatever padding follows.
            #[test]
            fn built_packets_parse_back(
                op in any::<u16>(),
                (smac, tmac) in (any::<[u8; 6]>(), any::<[u8; 6]>()),
                (sip, tip) in (any::<[u8; 4]>(), any::<[u8; 4]>()),
                padding in prop::collection::vec(any::<u8>(), 0..32),
            ) {
                let (sender_ip, target_ip) = (Ipv4Addr::from(sip), Ipv4Addr::from(tip));
                let mut frame = build_arp(op, smac, sender_ip, tmac, target_ip).to_vec();
                frame.extend(padding);
                let want = ArpPacket { op, sender_mac: smac, sender_ip, target_mac: tmac, target_ip };
                prop_assert_eq!(parse_arp(&frame), Some(want));
            }
        }
    }
}
