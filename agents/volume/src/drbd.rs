//! DRBD state: pure parsers over what DRBD prints, and the promotion-score policy.
//!
//! DRBD 8.4 (the in-kernel module of Debian's kernel) is read from `/proc/drbd`, one line per
//! minor; DRBD 9 from `drbdsetup status --json <res>`. Both become one [`DrbdState`], from which
//! [`score`] and [`promote_gate`] decide, so the policy is tested once on both formats.

use serde::Deserialize;

/// A DRBD role, local or peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Primary (promoted).
    Primary,
    /// Secondary.
    Secondary,
    /// Unknown (a peer that is not connected).
    Unknown,
}

impl Role {
    fn parse(s: &str) -> Role {
        match s {
            "Primary" => Role::Primary,
            "Secondary" => Role::Secondary,
            _ => Role::Unknown,
        }
    }
}

/// A disk state (`ds:` in 8.4, `disk-state` in 9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Disk {
    /// Current data.
    UpToDate,
    /// Consistent but maybe not current (no peer to compare with).
    Consistent,
    /// Known to be older than the peer's.
    Outdated,
    /// Partly written by a resync: unusable alone.
    Inconsistent,
    /// No local disk.
    Diskless,
    /// The peer's disk is unknown (not connected).
    DUnknown,
    /// Being attached, detached or negotiated: the state is about to change.
    Transitional(String),
    /// Failed, or anything else.
    Other(String),
}

impl Disk {
    /// Parse one disk state name.
    pub fn parse(s: &str) -> Disk {
        match s {
            "UpToDate" => Disk::UpToDate,
            "Consistent" => Disk::Consistent,
            "Outdated" => Disk::Outdated,
            "Inconsistent" => Disk::Inconsistent,
            "Diskless" => Disk::Diskless,
            "DUnknown" => Disk::DUnknown,
            "Attaching" | "Detaching" | "Negotiating" => Disk::Transitional(s.to_owned()),
            other => Disk::Other(other.to_owned()),
        }
    }

    /// The name DRBD prints.
    pub fn name(&self) -> &str {
        match self {
            Disk::UpToDate => "UpToDate",
            Disk::Consistent => "Consistent",
            Disk::Outdated => "Outdated",
            Disk::Inconsistent => "Inconsistent",
            Disk::Diskless => "Diskless",
            Disk::DUnknown => "DUnknown",
            Disk::Transitional(s) | Disk::Other(s) => s,
        }
    }
}

/// One peer as seen locally.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// Connection state (8.4 `cs:`, 9 `connection-state`), e.g. `Connected`, `StandAlone`.
    pub connection: String,
    /// The peer's role.
    pub role: Role,
    /// The peer's disk.
    pub disk: Disk,
}

impl Peer {
    /// Whether replication to this peer is up (8.4 folds replication states into `cs:`).
    pub fn connected(&self) -> bool {
        !matches!(
            self.connection.as_str(),
            "StandAlone"
                | "Disconnecting"
                | "Unconnected"
                | "Timeout"
                | "BrokenPipe"
                | "NetworkFailure"
                | "ProtocolError"
                | "TearDown"
                | "WFConnection"
                | "WFReportParams"
                | "Connecting"
                | "Unknown"
        )
    }
}

/// The state of one configured resource (volume 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrbdState {
    /// Local role.
    pub role: Role,
    /// Local disk.
    pub disk: Disk,
    /// Peers (one on 8.4).
    pub peers: Vec<Peer>,
    /// DRBD 9 quorum; always true on 8.4, which has none.
    pub quorum: bool,
}

impl DrbdState {
    /// A peer that is StandAlone: replication stopped, typically after a split brain.
    pub fn standalone(&self) -> bool {
        self.peers.iter().any(|p| p.connection == "StandAlone")
    }

    /// Every peer is connected (and there is at least one).
    pub fn all_connected(&self) -> bool {
        !self.peers.is_empty() && self.peers.iter().all(Peer::connected)
    }

    /// One line for logs and reasons.
    pub fn summary(&self) -> String {
        let peers: Vec<String> = self
            .peers
            .iter()
            .map(|p| format!("peer {:?} {} {}", p.role, p.disk.name(), p.connection))
            .collect();
        format!(
            "{:?} {}{}{}",
            self.role,
            self.disk.name(),
            if peers.is_empty() { String::new() } else { format!(", {}", peers.join(", ")) },
            if self.quorum { "" } else { ", no quorum" }
        )
    }
}

/// The DRBD generation of the loaded module, from the first line of `/proc/drbd`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    /// 8.4 (and older 8.x): state in `/proc/drbd`.
    V8,
    /// 9 and later: state from `drbdsetup status --json`.
    V9,
}

/// `version: 8.4.11 (api:1/proto:86-101)` → V8; `version: 9.2.x …` → V9.
pub fn generation(proc_drbd: &str) -> Option<Generation> {
    let first = proc_drbd.lines().next()?;
    let v = first.strip_prefix("version:")?.trim();
    let major: u32 = v.split('.').next()?.parse().ok()?;
    Some(if major >= 9 { Generation::V9 } else { Generation::V8 })
}

/// The state of `minor` from DRBD 8.4's `/proc/drbd`; `None` when it is unconfigured.
pub fn parse_proc_drbd(text: &str, minor: u32) -> Option<DrbdState> {
    let prefix = format!("{minor}:");
    let line = text.lines().map(str::trim_start).find(|l| {
        l.strip_prefix(&prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
    })?;
    let mut cs = None;
    let mut ro = None;
    let mut ds = None;
    for field in line.split_whitespace() {
        if let Some(v) = field.strip_prefix("cs:") {
            cs = Some(v);
        } else if let Some(v) = field.strip_prefix("ro:") {
            ro = v.split_once('/');
        } else if let Some(v) = field.strip_prefix("ds:") {
            ds = v.split_once('/');
        }
    }
    let cs = cs?;
    if cs == "Unconfigured" {
        return None;
    }
    let (local_role, peer_role) = ro.unwrap_or(("Unknown", "Unknown"));
    let (local_disk, peer_disk) = ds.unwrap_or(("Diskless", "DUnknown"));
    Some(DrbdState {
        role: Role::parse(local_role),
        disk: Disk::parse(local_disk),
        peers: vec![Peer {
            connection: cs.to_owned(),
            role: Role::parse(peer_role),
            disk: Disk::parse(peer_disk),
        }],
        quorum: true,
    })
}

/// The minor number of a `/dev/drbdN` device path.
pub fn minor_of_device(device: &str) -> Option<u32> {
    device.strip_prefix("/dev/drbd")?.parse().ok()
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JsonResource {
    name: String,
    role: String,
    devices: Vec<JsonDevice>,
    connections: Vec<JsonConnection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JsonDevice {
    volume: u32,
    #[serde(rename = "disk-state")]
    disk_state: String,
    quorum: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JsonConnection {
    #[serde(rename = "connection-state")]
    connection_state: String,
    #[serde(rename = "peer-role")]
    peer_role: String,
    peer_devices: Vec<JsonPeerDevice>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct JsonPeerDevice {
    volume: u32,
    #[serde(rename = "peer-disk-state")]
    peer_disk_state: String,
}

/// The state of volume 0 of `resource` from DRBD 9's `drbdsetup status --json`; `Ok(None)`
/// when the resource is not in the output (down).
pub fn parse_status_json(text: &str, resource: &str) -> Result<Option<DrbdState>, String> {
    let all: Vec<JsonResource> =
        serde_json::from_str(text).map_err(|e| format!("drbdsetup status --json: {e}"))?;
    let Some(res) = all.into_iter().find(|r| r.name == resource) else {
        return Ok(None);
    };
    let dev = res.devices.iter().find(|d| d.volume == 0).or(res.devices.first());
    let peers = res
        .connections
        .iter()
        .map(|c| {
            let pd = c.peer_devices.iter().find(|p| p.volume == 0).or(c.peer_devices.first());
            Peer {
                connection: c.connection_state.clone(),
                role: Role::parse(&c.peer_role),
                disk: pd.map_or(Disk::DUnknown, |p| Disk::parse(&p.peer_disk_state)),
            }
        })
        .collect();
    Ok(Some(DrbdState {
        role: Role::parse(&res.role),
        disk: dev.map_or(Disk::Diskless, |d| Disk::parse(&d.disk_state)),
        peers,
        quorum: dev.and_then(|d| d.quorum).unwrap_or(true),
    }))
}

/// The state of volume 0 of `resource` from DRBD 9's `drbdsetup events2 --now <res>` (used when
/// this drbd-utils has no `status --json`). Lines are `<verb> <object> key:value…`; the initial
/// dump ends with `exists -`, and later `create`/`change` lines update the same objects. `None`
/// when the resource does not appear.
pub fn parse_events2(text: &str, resource: &str) -> Option<DrbdState> {
    let mut state: Option<DrbdState> = None;
    // Peers in order of appearance, keyed by peer-node-id.
    let mut peer_ids: Vec<String> = Vec::new();
    for line in text.lines() {
        let mut words = line.split_whitespace();
        let (Some(verb), Some(object)) = (words.next(), words.next()) else { continue };
        if !matches!(verb, "exists" | "create" | "change" | "destroy") {
            continue;
        }
        let kv: Vec<(&str, &str)> = words.filter_map(|w| w.split_once(':')).collect();
        let get = |k: &str| kv.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        if get("name") != Some(resource) {
            continue;
        }
        if object == "resource" {
            if verb == "destroy" {
                state = None;
                peer_ids.clear();
                continue;
            }
            let s = state.get_or_insert_with(|| DrbdState {
                role: Role::Unknown,
                disk: Disk::Diskless,
                peers: Vec::new(),
                quorum: true,
            });
            if let Some(r) = get("role") {
                s.role = Role::parse(r);
            }
            continue;
        }
        let Some(s) = state.as_mut() else { continue };
        let volume0 = get("volume").is_none_or(|v| v == "0");
        match object {
            "device" if volume0 => {
                if let Some(d) = get("disk") {
                    s.disk = Disk::parse(d);
                }
                if let Some(q) = get("quorum") {
                    s.quorum = q == "yes";
                }
            }
            "connection" | "peer-device" => {
                let Some(id) = get("peer-node-id") else { continue };
                let idx = match peer_ids.iter().position(|p| p == id) {
                    Some(i) => i,
                    None => {
                        peer_ids.push(id.to_owned());
                        s.peers.push(Peer {
                            connection: "Unknown".into(),
                            role: Role::Unknown,
                            disk: Disk::DUnknown,
                        });
                        s.peers.len() - 1
                    }
                };
                let peer = &mut s.peers[idx];
                if object == "connection" {
                    if verb == "destroy" {
                        peer.connection = "StandAlone".into();
                    }
                    if let Some(c) = get("connection") {
                        peer.connection = c.to_owned();
                    }
                    if let Some(r) = get("role") {
                        peer.role = Role::parse(r);
                    }
                } else if volume0 && let Some(d) = get("peer-disk") {
                    peer.disk = Disk::parse(d);
                }
            }
            _ => {}
        }
    }
    state
}

/// What a monitor does with the promotion score.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScoreAction {
    /// Set this score.
    Set(i64),
    /// Remove the score: this node must not be promoted.
    Delete,
    /// Leave it as it is (the disk state is changing).
    Keep,
}

/// Local UpToDate data, Primary or every peer disk known.
pub const SCORE_UPTODATE: i64 = 10000;
/// Local UpToDate data, but some peer's disk is unknown (it may have newer data).
pub const SCORE_UPTODATE_PEER_UNKNOWN: i64 = 1000;
/// Only Consistent data (no peer to compare with): promotable as a last resort.
pub const SCORE_CONSISTENT: i64 = 0;

/// The promotion score, after LINBIT drbd.ocf's `adjust_master_score` semantics with its default
/// values (`0 10 1000 10000`), except that a node whose only access to UpToDate data is through
/// a peer gets no score (drbd.ocf gives 10): promote refuses there (see [`promote_gate`]).
pub fn score(state: Option<&DrbdState>) -> ScoreAction {
    let Some(s) = state else { return ScoreAction::Delete };
    if !s.quorum {
        return ScoreAction::Delete;
    }
    match &s.disk {
        Disk::UpToDate if s.role == Role::Primary => ScoreAction::Set(SCORE_UPTODATE),
        Disk::UpToDate if s.peers.iter().all(|p| p.disk != Disk::DUnknown) => {
            ScoreAction::Set(SCORE_UPTODATE)
        }
        Disk::UpToDate => ScoreAction::Set(SCORE_UPTODATE_PEER_UNKNOWN),
        Disk::Consistent => ScoreAction::Set(SCORE_CONSISTENT),
        Disk::Transitional(_) => ScoreAction::Keep,
        _ => ScoreAction::Delete,
    }
}

/// Whether this node may be promoted; `Err` is the reason naming the resource and states.
pub fn promote_gate(resource: &str, s: &DrbdState) -> Result<(), String> {
    if !s.quorum {
        return Err(format!("DRBD resource {resource} has no quorum; refusing to promote"));
    }
    match s.disk {
        Disk::UpToDate | Disk::Consistent => Ok(()),
        _ => Err(format!(
            "DRBD resource {resource} has no UpToDate data here (local disk {}, {}); refusing to \
             promote",
            s.disk.name(),
            s.summary()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC_PRIMARY: &str = include_str!("../tests/fixtures/proc_drbd_84_primary.txt");
    const PROC_SECONDARY: &str = include_str!("../tests/fixtures/proc_drbd_84_secondary.txt");
    const PROC_SYNC: &str = include_str!("../tests/fixtures/proc_drbd_84_sync.txt");
    const PROC_STANDALONE: &str = include_str!("../tests/fixtures/proc_drbd_84_standalone.txt");
    const JSON_SECONDARY: &str = include_str!("../tests/fixtures/status_json_9_secondary.json");
    const JSON_DISCONNECTED: &str = include_str!("../tests/fixtures/status_json_9_noquorum.json");

    /// Outputs recorded by tests/drbd/run.sh --record-fixtures in this project's own guests.
    #[test]
    fn recorded_84_outputs() {
        let rec = |name: &str, text: &str| (name.to_owned(), parse_proc_drbd(text, 0));
        let cases = [
            rec("down", include_str!("../tests/fixtures/proc_drbd_84_rec_down.txt")),
            rec("inc", include_str!("../tests/fixtures/proc_drbd_84_rec_inconsistent.txt")),
            rec("sec", include_str!("../tests/fixtures/proc_drbd_84_rec_secondary_uptodate.txt")),
            rec("pri", include_str!("../tests/fixtures/proc_drbd_84_rec_primary.txt")),
            rec("peer", include_str!("../tests/fixtures/proc_drbd_84_rec_secondary.txt")),
            rec("out", include_str!("../tests/fixtures/proc_drbd_84_rec_outdated_standalone.txt")),
        ];
        let got: Vec<(String, ScoreAction, Option<Role>)> = cases
            .iter()
            .map(|(n, s)| (n.clone(), score(s.as_ref()), s.as_ref().map(|s| s.role)))
            .collect();
        use ScoreAction::*;
        let want = [
            ("down", Delete, None),
            ("inc", Delete, Some(Role::Secondary)),
            ("sec", Set(10000), Some(Role::Secondary)),
            ("pri", Set(10000), Some(Role::Primary)),
            ("peer", Set(10000), Some(Role::Secondary)),
            ("out", Delete, Some(Role::Secondary)),
        ];
        for ((n, sc, r), (wn, wsc, wr)) in got.iter().zip(want) {
            assert_eq!((n.as_str(), *sc, *r), (wn, wsc, wr));
        }
        let out = cases[5].1.as_ref().unwrap();
        assert!(out.standalone());
        assert!(promote_gate("r0", out).unwrap_err().contains("local disk Outdated"));
        assert!(promote_gate("r0", cases[1].1.as_ref().unwrap()).is_err());
        assert_eq!(
            generation(include_str!("../tests/fixtures/proc_drbd_84_rec_down.txt")),
            Some(Generation::V8)
        );
    }

    #[test]
    fn generation_from_version_line() {
        assert_eq!(generation(PROC_PRIMARY), Some(Generation::V8));
        assert_eq!(generation("version: 9.2.12 (api:2/proto:86-122)\n"), Some(Generation::V9));
        assert_eq!(generation(""), None);
        assert_eq!(generation("garbage"), None);
    }

    #[test]
    fn proc_drbd_84_primary_and_secondary() {
        let p = parse_proc_drbd(PROC_PRIMARY, 0).unwrap();
        assert_eq!((p.role, &p.disk), (Role::Primary, &Disk::UpToDate));
        assert_eq!(p.peers[0].connection, "Connected");
        assert_eq!((p.peers[0].role, &p.peers[0].disk), (Role::Secondary, &Disk::UpToDate));
        assert!(p.all_connected());
        let s = parse_proc_drbd(PROC_SECONDARY, 0).unwrap();
        assert_eq!(s.role, Role::Secondary);
        assert_eq!(s.peers[0].role, Role::Primary);
        assert_eq!(parse_proc_drbd(PROC_PRIMARY, 1), None, "minor 1 is not listed");
        assert_eq!(parse_proc_drbd(PROC_PRIMARY, 10), None);
    }

    #[test]
    fn proc_drbd_84_unconfigured_and_sync() {
        assert_eq!(parse_proc_drbd("version: 8.4.11\n 0: cs:Unconfigured\n", 0), None);
        let s = parse_proc_drbd(PROC_SYNC, 0).unwrap();
        assert_eq!(s.disk, Disk::Inconsistent);
        assert!(s.all_connected(), "SyncTarget is connected");
        assert!(promote_gate("r0", &s).unwrap_err().contains("local disk Inconsistent"));
        assert_eq!(score(Some(&s)), ScoreAction::Delete);
    }

    #[test]
    fn proc_drbd_84_standalone_is_split_brain_suspect() {
        let s = parse_proc_drbd(PROC_STANDALONE, 0).unwrap();
        assert!(s.standalone());
        assert!(!s.all_connected());
        assert_eq!(s.peers[0].disk, Disk::DUnknown);
        assert_eq!(score(Some(&s)), ScoreAction::Set(SCORE_UPTODATE_PEER_UNKNOWN));
    }

    #[test]
    fn status_json_9() {
        let s = parse_status_json(JSON_SECONDARY, "r0").unwrap().unwrap();
        assert_eq!((s.role, &s.disk, s.quorum), (Role::Secondary, &Disk::UpToDate, true));
        assert_eq!(s.peers.len(), 1);
        assert_eq!(s.peers[0].role, Role::Primary);
        assert!(s.all_connected());
        assert_eq!(score(Some(&s)), ScoreAction::Set(SCORE_UPTODATE));
        assert_eq!(parse_status_json(JSON_SECONDARY, "r1").unwrap(), None);
        assert_eq!(parse_status_json("[]", "r0").unwrap(), None);
        assert!(parse_status_json("{not json", "r0").is_err());
    }

    #[test]
    fn events2_9() {
        let text = include_str!("../tests/fixtures/events2_9_now.txt");
        let s = parse_events2(text, "r0").unwrap();
        assert_eq!((s.role, &s.disk, s.quorum), (Role::Secondary, &Disk::UpToDate, true));
        assert_eq!(s.peers.len(), 1);
        assert_eq!(s.peers[0].connection, "Connected");
        assert_eq!((s.peers[0].role, &s.peers[0].disk), (Role::Primary, &Disk::UpToDate));
        assert_eq!(score(Some(&s)), ScoreAction::Set(SCORE_UPTODATE));
        assert_eq!(parse_events2(text, "other").unwrap().role, Role::Primary);
        assert_eq!(parse_events2(text, "r9"), None);
        assert_eq!(parse_events2("", "r0"), None);
    }

    /// The verbatim sequence from drbd-utils' tests/v9/events2-sync.test (rust-deps.md §8).
    #[test]
    fn events2_9_changes_apply_in_order() {
        let text = "exists -\n\
create resource name:some-resource role:Secondary suspended:no force-io-failures:no may_promote:no promotion_score:0\n\
create device name:some-resource volume:0 minor:1000 backing_dev:none disk:Diskless client:no open:no quorum:yes\n\
create connection name:some-resource peer-node-id:1 conn-name:some-peer connection:StandAlone role:Unknown\n\
create peer-device name:some-resource peer-node-id:1 conn-name:some-peer volume:0 replication:Off peer-disk:DUnknown peer-client:no resync-suspended:no\n\
create path name:some-resource peer-node-id:1 conn-name:some-peer local:ipv4:1.2.3.4:7789 peer:ipv4:5.6.7.8:7790 established:no\n\
change device name:some-resource volume:0 minor:1000 backing_dev:/dev/sda disk:UpToDate client:no open:no quorum:yes\n\
change connection name:some-resource peer-node-id:1 conn-name:some-peer connection:Connected role:Secondary\n\
change peer-device name:some-resource peer-node-id:1 conn-name:some-peer volume:0 replication:SyncSource peer-disk:Inconsistent peer-client:no done:37.50\n";
        let s = parse_events2(text, "some-resource").unwrap();
        assert_eq!(s.disk, Disk::UpToDate);
        assert_eq!(s.peers.len(), 1);
        assert_eq!(s.peers[0].connection, "Connected");
        assert_eq!((s.peers[0].role, &s.peers[0].disk), (Role::Secondary, &Disk::Inconsistent));
        assert!(!s.standalone());
        let quorum_lost = format!("{text}change device name:some-resource volume:0 quorum:no\n");
        assert!(!parse_events2(&quorum_lost, "some-resource").unwrap().quorum);
    }

    #[test]
    fn status_json_9_without_quorum_and_peer() {
        let s = parse_status_json(JSON_DISCONNECTED, "r0").unwrap().unwrap();
        assert!(!s.quorum);
        assert_eq!(s.peers[0].disk, Disk::DUnknown, "no peer_devices");
        assert_eq!(s.peers[0].role, Role::Unknown, "no peer-role");
        assert_eq!(score(Some(&s)), ScoreAction::Delete);
        assert!(promote_gate("r0", &s).unwrap_err().contains("no quorum"));
    }

    fn state(role: Role, disk: Disk, peer_disk: Disk) -> DrbdState {
        DrbdState {
            role,
            disk,
            peers: vec![Peer {
                connection: "Connected".into(),
                role: Role::Unknown,
                disk: peer_disk,
            }],
            quorum: true,
        }
    }

    #[test]
    fn score_table() {
        use Disk::*;
        let t = |role, d, p| score(Some(&state(role, d, p)));
        assert_eq!(t(Role::Primary, UpToDate, DUnknown), ScoreAction::Set(10000));
        assert_eq!(t(Role::Secondary, UpToDate, UpToDate), ScoreAction::Set(10000));
        assert_eq!(t(Role::Secondary, UpToDate, Outdated), ScoreAction::Set(10000));
        assert_eq!(t(Role::Secondary, UpToDate, DUnknown), ScoreAction::Set(1000));
        assert_eq!(t(Role::Secondary, Consistent, DUnknown), ScoreAction::Set(0));
        assert_eq!(t(Role::Secondary, Outdated, UpToDate), ScoreAction::Delete);
        assert_eq!(t(Role::Secondary, Inconsistent, UpToDate), ScoreAction::Delete);
        assert_eq!(t(Role::Secondary, Diskless, UpToDate), ScoreAction::Delete);
        assert_eq!(
            t(Role::Secondary, Transitional("Attaching".into()), UpToDate),
            ScoreAction::Keep
        );
        assert_eq!(score(None), ScoreAction::Delete);
    }

    #[test]
    fn promote_gate_names_the_state() {
        use Disk::*;
        assert!(promote_gate("r0", &state(Role::Secondary, UpToDate, UpToDate)).is_ok());
        assert!(promote_gate("r0", &state(Role::Secondary, Consistent, DUnknown)).is_ok());
        let e = promote_gate("r0", &state(Role::Secondary, Outdated, DUnknown)).unwrap_err();
        assert!(e.starts_with("DRBD resource r0 has no UpToDate data here (local disk Outdated"));
    }

    #[test]
    fn device_minor() {
        assert_eq!(minor_of_device("/dev/drbd0"), Some(0));
        assert_eq!(minor_of_device("/dev/drbd12"), Some(12));
        assert_eq!(minor_of_device("/dev/drbd/by-res/r0/0"), None);
        assert_eq!(minor_of_device("/dev/sda"), None);
    }
}
