//! DRBD: pure parsers over what DRBD prints, the promotion-score policy, and the [`Drbd`]
//! backend that drives `drbdadm`.
//!
//! DRBD 8.4 (the in-kernel module of Debian's kernel) is read from `/proc/drbd`, one line per
//! minor; DRBD 9 from `drbdsetup status --json <res>`. Both become one [`DrbdState`], from which
//! [`score`] and [`promote_gate`] decide, so the policy is tested once on both formats.

use std::path::{Path, PathBuf};

use ocf::{Context, Deadline, OcfCode, OcfError, exec};
use serde::Deserialize;

use crate::minor_cache;
use crate::replica::{
    LocalRole, Replica, SCORE_CONSISTENT, SCORE_CURRENT, SCORE_CURRENT_PEER_UNKNOWN, ScoreAction,
    State,
};

/// Where the loaded module reports its version (and, on 8.4, the state of every minor).
pub(crate) const PROC_DRBD: &str = "/proc/drbd";

/// What DRBD's state says against an action.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DrbdError {
    /// `drbdsetup status --json` printed something that is not its JSON.
    #[error("drbdsetup status --json: {0}")]
    StatusJson(serde_json::Error),
    /// DRBD 9 without quorum.
    #[error("DRBD resource {resource} has no quorum; refusing to promote")]
    NoQuorum {
        /// The resource.
        resource: String,
    },
    /// The local disk is not UpToDate (or Consistent).
    #[error(
        "DRBD resource {resource} has no UpToDate data here (local disk {disk}, {summary}); \
         refusing to promote"
    )]
    NotUpToDate {
        /// The resource.
        resource: String,
        /// The local disk state.
        disk: String,
        /// All states, for the reason.
        summary: String,
    },
}

impl From<DrbdError> for OcfError {
    fn from(e: DrbdError) -> Self {
        OcfError::generic(e.to_string())
    }
}

/// A DRBD role, local or peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DrbdRole {
    /// Primary (promoted).
    Primary,
    /// Secondary.
    Secondary,
    /// Unknown (a peer that is not connected).
    Unknown,
}

impl DrbdRole {
    fn parse(s: &str) -> DrbdRole {
        match s {
            "Primary" => DrbdRole::Primary,
            "Secondary" => DrbdRole::Secondary,
            _ => DrbdRole::Unknown,
        }
    }
}

/// A disk state (`ds:` in 8.4, `disk-state` in 9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Disk {
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
    pub(crate) fn parse(s: &str) -> Disk {
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
    pub(crate) fn name(&self) -> &str {
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
pub(crate) struct Peer {
    /// Connection state (8.4 `cs:`, 9 `connection-state`), e.g. `Connected`, `StandAlone`.
    pub(crate) connection: String,
    /// The peer's role.
    pub(crate) role: DrbdRole,
    /// The peer's disk.
    pub(crate) disk: Disk,
}

impl Peer {
    /// Whether replication to this peer is up (8.4 folds replication states into `cs:`).
    pub(crate) fn connected(&self) -> bool {
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
pub(crate) struct DrbdState {
    /// Local role.
    pub(crate) role: DrbdRole,
    /// Local disk.
    pub(crate) disk: Disk,
    /// Peers (one on 8.4).
    pub(crate) peers: Vec<Peer>,
    /// DRBD 9 quorum; always true on 8.4, which has none.
    pub(crate) quorum: bool,
}

impl DrbdState {
    /// A peer that is StandAlone: replication stopped, typically after a split brain.
    pub(crate) fn standalone(&self) -> bool {
        self.peers.iter().any(|p| p.connection == "StandAlone")
    }

    /// Every peer is connected (and there is at least one).
    pub(crate) fn all_connected(&self) -> bool {
        !self.peers.is_empty() && self.peers.iter().all(Peer::connected)
    }

    /// One line for logs and reasons.
    pub(crate) fn summary(&self) -> String {
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
pub(crate) enum Generation {
    /// 8.4 (and older 8.x): state in `/proc/drbd`.
    V8,
    /// 9 and later: state from `drbdsetup status --json`.
    V9,
}

/// `version: 8.4.11 (api:1/proto:86-101)` → V8; `version: 9.2.x …` → V9.
pub(crate) fn generation(proc_drbd: &str) -> Option<Generation> {
    let first = proc_drbd.lines().next()?;
    let v = first.strip_prefix("version:")?.trim();
    let major: u32 = v.split('.').next()?.parse().ok()?;
    Some(if major >= 9 { Generation::V9 } else { Generation::V8 })
}

/// The state of `minor` from DRBD 8.4's `/proc/drbd`; `None` when it is unconfigured.
pub(crate) fn parse_proc_drbd(text: &str, minor: u32) -> Option<DrbdState> {
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
        role: DrbdRole::parse(local_role),
        disk: Disk::parse(local_disk),
        peers: vec![Peer {
            connection: cs.to_owned(),
            role: DrbdRole::parse(peer_role),
            disk: Disk::parse(peer_disk),
        }],
        quorum: true,
    })
}

/// The minor number of a `/dev/drbdN` device path.
pub(crate) fn minor_of_device(device: &str) -> Option<u32> {
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
pub(crate) fn parse_status_json(
    text: &str,
    resource: &str,
) -> Result<Option<DrbdState>, DrbdError> {
    let all: Vec<JsonResource> = serde_json::from_str(text).map_err(DrbdError::StatusJson)?;
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
                role: DrbdRole::parse(&c.peer_role),
                disk: pd.map_or(Disk::DUnknown, |p| Disk::parse(&p.peer_disk_state)),
            }
        })
        .collect();
    Ok(Some(DrbdState {
        role: DrbdRole::parse(&res.role),
        disk: dev.map_or(Disk::Diskless, |d| Disk::parse(&d.disk_state)),
        peers,
        quorum: dev.and_then(|d| d.quorum).unwrap_or(true),
    }))
}

/// The state of volume 0 of `resource` from DRBD 9's `drbdsetup events2 --now <res>` (used when
/// this drbd-utils has no `status --json`). Lines are `<verb> <object> key:value…`; the initial
/// dump ends with `exists -`, and later `create`/`change` lines update the same objects. `None`
/// when the resource does not appear.
pub(crate) fn parse_events2(text: &str, resource: &str) -> Option<DrbdState> {
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
                role: DrbdRole::Unknown,
                disk: Disk::Diskless,
                peers: Vec::new(),
                quorum: true,
            });
            if let Some(r) = get("role") {
                s.role = DrbdRole::parse(r);
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
                            role: DrbdRole::Unknown,
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
                        peer.role = DrbdRole::parse(r);
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

/// The promotion score, after LINBIT drbd.ocf's `adjust_master_score` semantics with its default
/// values (`0 10 1000 10000`), except that a node whose only access to UpToDate data is through
/// a peer gets no score (drbd.ocf gives 10): promote refuses there (see [`promote_gate`]).
pub(crate) fn score(state: Option<&DrbdState>) -> ScoreAction {
    let Some(s) = state else { return ScoreAction::Delete };
    if !s.quorum {
        return ScoreAction::Delete;
    }
    match &s.disk {
        Disk::UpToDate if s.role == DrbdRole::Primary => ScoreAction::Set(SCORE_CURRENT),
        Disk::UpToDate if s.peers.iter().all(|p| p.disk != Disk::DUnknown) => {
            ScoreAction::Set(SCORE_CURRENT)
        }
        Disk::UpToDate => ScoreAction::Set(SCORE_CURRENT_PEER_UNKNOWN),
        Disk::Consistent => ScoreAction::Set(SCORE_CONSISTENT),
        Disk::Transitional(_) => ScoreAction::Keep,
        _ => ScoreAction::Delete,
    }
}

/// Whether this node may be promoted; the error names the resource and states.
pub(crate) fn promote_gate(resource: &str, s: &DrbdState) -> Result<(), DrbdError> {
    if !s.quorum {
        return Err(DrbdError::NoQuorum { resource: resource.to_owned() });
    }
    match s.disk {
        Disk::UpToDate | Disk::Consistent => Ok(()),
        _ => Err(DrbdError::NotUpToDate {
            resource: resource.to_owned(),
            disk: s.disk.name().to_owned(),
            summary: s.summary(),
        }),
    }
}

/// The backend-neutral state of `resource`.
pub(crate) fn observe(resource: &str, s: Option<&DrbdState>) -> State {
    let Some(st) = s else { return State::DOWN };
    State {
        role: if st.role == DrbdRole::Primary { LocalRole::Primary } else { LocalRole::Secondary },
        connected: st.all_connected(),
        score: score(s),
        warning: st.standalone().then(|| {
            format!(
                "DRBD resource {resource} is StandAlone ({}): not replicating, possibly after a \
                 split brain; this agent never discards data: resolve it by hand",
                st.summary()
            )
        }),
    }
}

/// A DRBD resource driven through `drbdadm` (state from `/proc/drbd` on 8.4, `drbdsetup` on 9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Drbd {
    pub(crate) resource: String,
    /// The device, when the configuration names it.
    pub(crate) device: Option<String>,
    /// drbdadm -c.
    pub(crate) drbdconf: Option<String>,
    /// [`PROC_DRBD`], or a fixture in tests.
    pub(crate) proc_drbd: PathBuf,
    /// Where the minor found by `drbdadm sh-minor` is kept (see [`crate::minor_cache`]).
    pub(crate) minor_cache: Option<PathBuf>,
}

impl Drbd {
    /// The module is loaded.
    pub(crate) fn loaded(&self) -> bool {
        self.proc_drbd.exists()
    }

    /// `[-c <drbdconf>] <verb> <resource>`.
    fn args<'a>(&'a self, verb: &'a str) -> Vec<&'a str> {
        let mut all: Vec<&str> = Vec::new();
        if let Some(c) = &self.drbdconf {
            all.extend(["-c", c.as_str()]);
        }
        all.extend([verb, self.resource.as_str()]);
        all
    }

    /// `drbdadm <verb> <resource>`, failing with the tool's words.
    fn run(&self, verb: &str, deadline: &Deadline) -> Result<exec::Output, OcfError> {
        exec::run("drbdadm", &self.args(verb), deadline)
            .with_context(|| format!("drbdadm {verb} {} failed", self.resource))
    }

    fn minor(&self, deadline: &Deadline) -> Result<u32, OcfError> {
        if let Some(m) = self.device.as_deref().and_then(minor_of_device) {
            return Ok(m);
        }
        let fp = self.minor_cache.as_ref().map(|cache| (cache, self.conf_fingerprint()));
        if let Some(m) = fp.as_ref().and_then(|(cache, fp)| minor_cache::load(cache, fp)) {
            return Ok(m);
        }
        let out = exec::run("drbdadm", &self.args("sh-minor"), deadline)
            .with_context(|| format!("cannot find the minor of DRBD resource {}", self.resource))?;
        let minor = out.stdout.trim().parse().map_err(|_| {
            OcfError::generic(format!(
                "drbdadm sh-minor {} printed '{}', not a minor number",
                self.resource,
                out.stdout.trim()
            ))
        })?;
        if let Some((cache, fp)) = &fp
            && let Err(e) = minor_cache::store(cache, fp, minor)
        {
            log::debug!("cannot keep the minor of {} in {}: {e}", self.resource, cache.display());
        }
        Ok(minor)
    }

    /// The fingerprint of the configuration files drbdadm reads for this resource.
    fn conf_fingerprint(&self) -> String {
        match &self.drbdconf {
            Some(c) => minor_cache::fingerprint(&[Path::new(c)]),
            None => {
                let confs: Vec<&Path> =
                    minor_cache::DEFAULT_CONFS.iter().map(|c| Path::new(*c)).collect();
                minor_cache::fingerprint(&confs)
            }
        }
    }

    fn read(&self, deadline: &Deadline) -> Result<Option<DrbdState>, OcfError> {
        let Ok(proc_drbd) = std::fs::read_to_string(&self.proc_drbd) else {
            return Ok(None); // module not loaded: nothing is up
        };
        if generation(&proc_drbd) != Some(Generation::V9) {
            return Ok(parse_proc_drbd(&proc_drbd, self.minor(deadline)?));
        }
        let status = |args: &[&str]| {
            exec::output("drbdsetup", args, deadline).context("cannot read the DRBD state")
        };
        let out = status(&["status", "--json", &self.resource])?;
        if out.status.success() {
            return Ok(parse_status_json(&out.stdout, &self.resource)?);
        }
        // Older drbd-utils without --json: the event stream's initial dump.
        let ev = status(&["events2", "--now", &self.resource])?;
        // Both failing means "No such resource": down.
        Ok(if ev.status.success() { parse_events2(&ev.stdout, &self.resource) } else { None })
    }
}

impl Replica for Drbd {
    fn resource(&self) -> &str {
        &self.resource
    }

    fn state(&self, deadline: &Deadline) -> Result<State, OcfError> {
        Ok(observe(&self.resource, self.read(deadline)?.as_ref()))
    }

    fn device(&self, deadline: &Deadline) -> Result<String, OcfError> {
        match &self.device {
            Some(d) => Ok(d.clone()),
            None => {
                let out = exec::run("drbdadm", &self.args("sh-dev"), deadline)
                    .with_context(|| format!("cannot find the device of {}", self.resource))?;
                Ok(out.stdout.trim().to_owned())
            }
        }
    }

    fn up(&self, deadline: &Deadline) -> Result<(), OcfError> {
        if !self.loaded() {
            exec::run("modprobe", &["drbd"], deadline)
                .context("the drbd kernel module cannot be loaded")?;
        }
        self.run("up", deadline).map(|_| ())
    }

    fn down(&self, deadline: &Deadline) -> Result<(), OcfError> {
        self.run("down", deadline).map(|_| ())
    }

    fn to_secondary(&self, deadline: &Deadline) -> Result<(), OcfError> {
        self.run("secondary", deadline).map(|_| ())
    }

    fn to_primary(&self, deadline: &Deadline) -> Result<(), OcfError> {
        let Some(s) = self.read(deadline)? else {
            return Err(OcfError::new(
                OcfCode::NotRunning,
                format!("{} is not started; cannot promote", self.resource),
            ));
        };
        promote_gate(&self.resource, &s)?;
        let out = exec::output("drbdadm", &self.args("primary"), deadline)
            .with_context(|| format!("drbdadm primary {} failed", self.resource))?;
        match out.status.code() {
            Some(0) => Ok(()),
            Some(17) => Err(OcfError::generic(format!(
                "DRBD refused to promote {} without access to UpToDate data (exit 17)",
                self.resource
            ))),
            c => Err(OcfError::generic(format!(
                "drbdadm primary {} failed (exit {}): {}",
                self.resource,
                c.map_or("signal".into(), |c| c.to_string()),
                out.stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim()
            ))),
        }
    }
}

/// The backend for a resource, reading `/proc/drbd`.
pub(crate) fn backend(resource: &str, device: Option<String>, drbdconf: Option<String>) -> Drbd {
    Drbd {
        resource: resource.to_owned(),
        device,
        drbdconf,
        proc_drbd: Path::new(PROC_DRBD).into(),
        minor_cache: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

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
        let got: Vec<(String, ScoreAction, Option<DrbdRole>)> = cases
            .iter()
            .map(|(n, s)| (n.clone(), score(s.as_ref()), s.as_ref().map(|s| s.role)))
            .collect();
        use ScoreAction::*;
        let want = [
            ("down", Delete, None),
            ("inc", Delete, Some(DrbdRole::Secondary)),
            ("sec", Set(10000), Some(DrbdRole::Secondary)),
            ("pri", Set(10000), Some(DrbdRole::Primary)),
            ("peer", Set(10000), Some(DrbdRole::Secondary)),
            ("out", Delete, Some(DrbdRole::Secondary)),
        ];
        for ((n, sc, r), (wn, wsc, wr)) in got.iter().zip(want) {
            assert_eq!((n.as_str(), *sc, *r), (wn, wsc, wr));
        }
        let out = cases[5].1.as_ref().unwrap();
        assert!(out.standalone());
        assert!(promote_gate("r0", out).unwrap_err().to_string().contains("local disk Outdated"));
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
        assert_eq!((p.role, &p.disk), (DrbdRole::Primary, &Disk::UpToDate));
        assert_eq!(p.peers[0].connection, "Connected");
        assert_eq!((p.peers[0].role, &p.peers[0].disk), (DrbdRole::Secondary, &Disk::UpToDate));
        assert!(p.all_connected());
        let s = parse_proc_drbd(PROC_SECONDARY, 0).unwrap();
        assert_eq!(s.role, DrbdRole::Secondary);
        assert_eq!(s.peers[0].role, DrbdRole::Primary);
        assert_eq!(parse_proc_drbd(PROC_PRIMARY, 1), None, "minor 1 is not listed");
        assert_eq!(parse_proc_drbd(PROC_PRIMARY, 10), None);
    }

    #[test]
    fn proc_drbd_84_unconfigured_and_sync() {
        assert_eq!(parse_proc_drbd("version: 8.4.11\n 0: cs:Unconfigured\n", 0), None);
        let s = parse_proc_drbd(PROC_SYNC, 0).unwrap();
        assert_eq!(s.disk, Disk::Inconsistent);
        assert!(s.all_connected(), "SyncTarget is connected");
        assert!(
            promote_gate("r0", &s).unwrap_err().to_string().contains("local disk Inconsistent")
        );
        assert_eq!(score(Some(&s)), ScoreAction::Delete);
    }

    #[test]
    fn proc_drbd_84_standalone_is_split_brain_suspect() {
        let s = parse_proc_drbd(PROC_STANDALONE, 0).unwrap();
        assert!(s.standalone());
        assert!(!s.all_connected());
        assert_eq!(s.peers[0].disk, Disk::DUnknown);
        assert_eq!(score(Some(&s)), ScoreAction::Set(SCORE_CURRENT_PEER_UNKNOWN));
    }

    #[test]
    fn status_json_9() {
        let s = parse_status_json(JSON_SECONDARY, "r0").unwrap().unwrap();
        assert_eq!((s.role, &s.disk, s.quorum), (DrbdRole::Secondary, &Disk::UpToDate, true));
        assert_eq!(s.peers.len(), 1);
        assert_eq!(s.peers[0].role, DrbdRole::Primary);
        assert!(s.all_connected());
        assert_eq!(score(Some(&s)), ScoreAction::Set(SCORE_CURRENT));
        assert_eq!(parse_status_json(JSON_SECONDARY, "r1").unwrap(), None);
        assert_eq!(parse_status_json("[]", "r0").unwrap(), None);
        assert!(parse_status_json("{not json", "r0").is_err());
    }

    #[test]
    fn events2_9() {
        let text = include_str!("../tests/fixtures/events2_9_now.txt");
        let s = parse_events2(text, "r0").unwrap();
        assert_eq!((s.role, &s.disk, s.quorum), (DrbdRole::Secondary, &Disk::UpToDate, true));
        assert_eq!(s.peers.len(), 1);
        assert_eq!(s.peers[0].connection, "Connected");
        assert_eq!((s.peers[0].role, &s.peers[0].disk), (DrbdRole::Primary, &Disk::UpToDate));
        assert_eq!(score(Some(&s)), ScoreAction::Set(SCORE_CURRENT));
        assert_eq!(parse_events2(text, "other").unwrap().role, DrbdRole::Primary);
        assert_eq!(parse_events2(text, "r9"), None);
        assert_eq!(parse_events2("", "r0"), None);
    }

    /// The verbatim sequence from drbd-utils' tests/v9/events2-sync.test.
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
        assert_eq!((s.peers[0].role, &s.peers[0].disk), (DrbdRole::Secondary, &Disk::Inconsistent));
        assert!(!s.standalone());
        let quorum_lost = format!("{text}change device name:some-resource volume:0 quorum:no\n");
        assert!(!parse_events2(&quorum_lost, "some-resource").unwrap().quorum);
    }

    #[test]
    fn status_json_9_without_quorum_and_peer() {
        let s = parse_status_json(JSON_DISCONNECTED, "r0").unwrap().unwrap();
        assert!(!s.quorum);
        assert_eq!(s.peers[0].disk, Disk::DUnknown, "no peer_devices");
        assert_eq!(s.peers[0].role, DrbdRole::Unknown, "no peer-role");
        assert_eq!(score(Some(&s)), ScoreAction::Delete);
        assert!(promote_gate("r0", &s).unwrap_err().to_string().contains("no quorum"));
    }

    fn state(role: DrbdRole, disk: Disk, peer_disk: Disk) -> DrbdState {
        DrbdState {
            role,
            disk,
            peers: vec![Peer {
                connection: "Connected".into(),
                role: DrbdRole::Unknown,
                disk: peer_disk,
            }],
            quorum: true,
        }
    }

    #[test]
    fn score_table() {
        use Disk::*;
        let t = |role, d, p| score(Some(&state(role, d, p)));
        assert_eq!(t(DrbdRole::Primary, UpToDate, DUnknown), ScoreAction::Set(10000));
        assert_eq!(t(DrbdRole::Secondary, UpToDate, UpToDate), ScoreAction::Set(10000));
        assert_eq!(t(DrbdRole::Secondary, UpToDate, Outdated), ScoreAction::Set(10000));
        assert_eq!(t(DrbdRole::Secondary, UpToDate, DUnknown), ScoreAction::Set(1000));
        assert_eq!(t(DrbdRole::Secondary, Consistent, DUnknown), ScoreAction::Set(0));
        assert_eq!(t(DrbdRole::Secondary, Outdated, UpToDate), ScoreAction::Delete);
        assert_eq!(t(DrbdRole::Secondary, Inconsistent, UpToDate), ScoreAction::Delete);
        assert_eq!(t(DrbdRole::Secondary, Diskless, UpToDate), ScoreAction::Delete);
        assert_eq!(
            t(DrbdRole::Secondary, Transitional("Attaching".into()), UpToDate),
            ScoreAction::Keep
        );
        assert_eq!(score(None), ScoreAction::Delete);
    }

    #[test]
    fn promote_gate_names_the_state() {
        use Disk::*;
        assert!(promote_gate("r0", &state(DrbdRole::Secondary, UpToDate, UpToDate)).is_ok());
        assert!(promote_gate("r0", &state(DrbdRole::Secondary, Consistent, DUnknown)).is_ok());
        let e = promote_gate("r0", &state(DrbdRole::Secondary, Outdated, DUnknown))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("DRBD resource r0 has no UpToDate data here (local disk Outdated"));
    }

    /// A steady monitor takes the minor from the cache, without drbdadm; a configuration
    /// change sends it back to drbdadm. The configuration names no host this machine has, so
    /// `drbdadm sh-minor` fails (as it does without drbdadm installed): a minor returned is the
    /// cache's.
    #[test]
    fn minor_comes_from_the_cache_until_the_configuration_changes() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("drbd.conf");
        fs::write(&conf, "include \"r0.res\";\n").unwrap();
        let res = dir.path().join("r0.res");
        let body = "resource r0 {\n  device /dev/drbd5;\n  disk /dev/loop9;\n  meta-disk internal;\n\
                    on ferroha-test-absent-a { address 192.0.2.1:7789; }\n\
                    on ferroha-test-absent-b { address 192.0.2.2:7789; }\n}\n";
        fs::write(&res, body).unwrap();
        let mut d = backend("r0", None, Some(conf.display().to_string()));
        let state = tempfile::tempdir().unwrap();
        let cache = state.path().join("r0.drbd-minor");
        d.minor_cache = Some(cache.clone());
        let deadline = Deadline::after(std::time::Duration::from_secs(10));
        assert!(d.minor(&deadline).is_err(), "nothing kept: drbdadm is asked, and fails here");
        minor_cache::store(&cache, &d.conf_fingerprint(), 9).unwrap();
        assert_eq!(d.minor(&deadline).unwrap(), 9);
        fs::write(&res, body.replace("drbd5", "drbd6")).unwrap();
        let f = fs::File::options().write(true).open(&res).unwrap();
        f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5)).unwrap();
        assert!(d.minor(&deadline).is_err(), "changed configuration: drbdadm is asked again");
    }

    #[test]
    fn device_minor() {
        assert_eq!(minor_of_device("/dev/drbd0"), Some(0));
        assert_eq!(minor_of_device("/dev/drbd12"), Some(12));
        assert_eq!(minor_of_device("/dev/drbd/by-res/r0/0"), None);
        assert_eq!(minor_of_device("/dev/sda"), None);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        const ROLES: &[&str] = &["Primary", "Secondary", "Unknown"];
        const DISKS: &[&str] = &[
            "UpToDate",
            "Consistent",
            "Outdated",
            "Inconsistent",
            "Diskless",
            "DUnknown",
            "Attaching",
            "Failed",
            "Negotiating",
        ];
        const STATES: &[&str] =
            &["Connected", "StandAlone", "WFConnection", "SyncSource", "Unknown"];

        fn one_of(list: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
            prop::sample::select(list)
        }

        /// Text made of what DRBD prints, so that some of it is nearly right.
        fn drbd_like() -> impl Strategy<Value = String> {
            prop_oneof![
                any::<String>(),
                prop::collection::vec(
                    prop_oneof![
                        Just("version: ".to_owned()),
                        Just(" 0: ".to_owned()),
                        Just("cs:".to_owned()),
                        Just("ro:".to_owned()),
                        Just("ds:".to_owned()),
                        Just("/".to_owned()),
                        Just("\n".to_owned()),
                        Just(" ".to_owned()),
                        "[0-9.]{1,6}",
                        "[A-Za-z]{1,10}",
                        Just("Unconfigured".to_owned()),
                    ],
                    0..24,
                )
                .prop_map(|parts| parts.concat()),
            ]
        }

        proptest! {
            #[test]
            fn any_proc_drbd_text_is_read(text in drbd_like(), minor in 0u32..3) {
                let _ = generation(&text);
                if let Some(s) = parse_proc_drbd(&text, minor) {
                    prop_assert_eq!(s.peers.len(), 1);
                    let _ = (score(Some(&s)), observe("r0", Some(&s)), s.summary());
                }
            }

            /// An 8.4 device line gives back its connection state, roles and disks.
            #[test]
            fn a_device_line_reads_back(
                minor in 0u32..300,
                cs in one_of(STATES),
                (me, peer) in (one_of(ROLES), one_of(ROLES)),
                (disk, peer_disk) in (one_of(DISKS), one_of(DISKS)),
            ) {
                let text = format!(
                    "version: 8.4.11 (api:1/proto:86-101)\nsrcversion: X\n\n {minor}: cs:{cs} ro:{me}/{peer} ds:{disk}/{peer_disk} C r-----\n    ns:0 nr:0 dw:0\n"
                );
                prop_assert_eq!(generation(&text), Some(Generation::V8));
                let s = parse_proc_drbd(&text, minor).expect("the device is configured");
                prop_assert_eq!(s.role, DrbdRole::parse(me));
                prop_assert_eq!(s.disk.name(), disk);
                prop_assert_eq!(&s.peers[0].connection, cs);
                prop_assert_eq!(s.peers[0].role, DrbdRole::parse(peer));
                prop_assert_eq!(s.peers[0].disk.name(), peer_disk);
                prop_assert_eq!(parse_proc_drbd(&text, minor + 1000), None);
            }

            #[test]
            fn any_status_json_is_read(text in prop_oneof![any::<String>(), json_like()]) {
                if let Ok(Some(s)) = parse_status_json(&text, "r0") {
                    let _ = (score(Some(&s)), observe("r0", Some(&s)), s.summary());
                }
            }

            #[test]
            fn any_events2_text_is_read(text in events_like()) {
                if let Some(s) = parse_events2(&text, "r0") {
                    let _ = (score(Some(&s)), observe("r0", Some(&s)), s.summary());
                }
            }

            #[test]
            fn any_device_path_has_a_minor_or_none(path in prop_oneof![any::<String>(), "/dev/drbd[0-9+-]{0,12}"]) {
                if let Some(minor) = minor_of_device(&path) {
                    prop_assert_eq!(minor_of_device(&format!("/dev/drbd{minor}")), Some(minor));
                }
            }
        }

        /// JSON shaped like `drbdsetup status --json`, with arbitrary values of any type in it.
        fn json_like() -> impl Strategy<Value = String> {
            let value = prop_oneof![
                Just("null".to_owned()),
                any::<i64>().prop_map(|n| n.to_string()),
                any::<bool>().prop_map(|b| b.to_string()),
                "\"[A-Za-z0-9]{0,8}\"",
                Just("[]".to_owned()),
                Just("{}".to_owned()),
                Just("\"r0\"".to_owned()),
                Just("4294967296".to_owned()),
                Just("-1".to_owned()),
            ];
            let key = prop::sample::select(
                &[
                    "name",
                    "role",
                    "devices",
                    "connections",
                    "volume",
                    "disk-state",
                    "quorum",
                    "connection-state",
                    "peer-role",
                    "peer_devices",
                    "peer-disk-state",
                ][..],
            );
            let object = prop::collection::vec((key, value), 0..6).prop_map(|kv| {
                let fields: Vec<String> = kv.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                format!("{{{}}}", fields.join(","))
            });
            let nested = (
                object.clone(),
                prop::collection::vec(object.clone(), 0..3),
                prop::collection::vec(object, 0..3),
            )
                .prop_map(|(res, devs, conns)| {
                    let res = res.trim_end_matches('}').to_owned();
                    let sep = if res.len() > 1 { "," } else { "" };
                    format!(
                        "{res}{sep}\"name\":\"r0\",\"devices\":[{}],\"connections\":[{}]}}",
                        devs.join(","),
                        conns.join(",")
                    )
                });
            prop::collection::vec(nested, 0..3).prop_map(|r| format!("[{}]", r.join(",")))
        }

        /// Lines shaped like `drbdsetup events2`, with arbitrary words in them.
        fn events_like() -> impl Strategy<Value = String> {
            let verb = prop::sample::select(&["exists", "create", "change", "destroy", "call"][..]);
            let object = prop::sample::select(
                &["resource", "connection", "device", "peer-device", "path", "-"][..],
            );
            let word = prop_oneof![
                Just("name:r0".to_owned()),
                Just("name:other".to_owned()),
                "peer-node-id:[0-3]",
                "volume:[0-2]",
                (
                    prop::sample::select(
                        &["role", "disk", "peer-disk", "connection", "quorum"][..]
                    ),
                    "[A-Za-z]{0,10}"
                )
                    .prop_map(|(k, v)| format!("{k}:{v}")),
                any::<String>(),
            ];
            prop::collection::vec((verb, object, prop::collection::vec(word, 0..5)), 0..8).prop_map(
                |lines| {
                    lines.iter().map(|(v, o, w)| format!("{v} {o} {}\n", w.join(" "))).collect()
                },
            )
        }
    }
}
