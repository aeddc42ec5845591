//! Whether a replica is attached to the current primary, seen from both ends (review item D1).
//!
//! A promotion score says "this replica has the primary's data up to a point". That holds only
//! while the replica replicates from the writable peer, so:
//!
//! - **the replica's own monitor** ([`replica_verdict`]) keeps its score only while its IO
//!   thread points at the writable peer's `node_map` address and runs (or reconnects for at
//!   most a moment); one pointed elsewhere, or with no replication at all, re-attaches itself;
//!   "primary unreachable" keeps a score only while no writable peer is reachable at all;
//! - **the primary's monitor** ([`check_replicas`]) withdraws the score of every peer it cannot
//!   confirm as replicating from it (PAF's rule): the peer does not answer, is not pointed at
//!   the primary, or its IO thread is not running. That covers what a replica cannot see
//!   itself: a replication path that is dead only towards the primary, where the replica
//!   takes the primary for gone. The primary remembers whom it withdrew (`<instance>.withdrawn`
//!   in `state_dir`) and gives the score back, at the rank the replica would publish, once that
//!   replica is attached again (the replica's own monitor only publishes changes).

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

use ocf::Ctx;

use crate::config::Config;
use crate::db::{Db, SlaveStatus};
use crate::gtid::{self, GtidSet};
use crate::settings::Addr;

/// What one peer answered.
#[derive(Clone, Debug)]
pub(crate) struct PeerState {
    /// `@@read_only`.
    pub(crate) read_only: bool,
    /// Applied (`@@gtid_current_pos`).
    pub(crate) applied: GtidSet,
    /// `SHOW SLAVE STATUS` (`None`: no replication configured).
    pub(crate) status: Option<SlaveStatus>,
}

impl PeerState {
    /// What the peer has: applied plus received (`Gtid_IO_Pos`), the measure promote re-checks.
    pub(crate) fn received(&self) -> GtidSet {
        received(&self.applied, self.status.as_ref())
    }
}

/// Applied ∪ received: the position replicas are ranked by, on both sides (review item D8).
pub(crate) fn received(applied: &GtidSet, status: Option<&SlaveStatus>) -> GtidSet {
    let io = status.and_then(|s| GtidSet::parse(&s.gtid_io_pos).ok()).unwrap_or_default();
    applied.union(&io)
}

/// One peer of `node_map` and its answer (or why it gave none).
#[derive(Clone, Debug)]
pub(crate) struct Peer {
    /// Its node name.
    pub(crate) node: String,
    /// Its address.
    pub(crate) addr: Addr,
    /// What it answered.
    pub(crate) answer: Result<PeerState, String>,
}

/// Ask every peer of `node_map`, in parallel, for its role, position and replication status.
pub(crate) fn survey(cfg: &Config, ctx: &Ctx) -> Vec<Peer> {
    let ask = |addr: &Addr| -> Result<PeerState, String> {
        if cfg.repl.pass.is_none() {
            return Err("no replication password configured".into());
        }
        let mut db = cfg.peer_db(addr, ctx).map_err(|e| e.to_string())?;
        let (read_only, applied) = db.role_and_pos().map_err(|e| e.to_string())?;
        let status = db.slave_status().map_err(|e| e.to_string())?;
        Ok(PeerState { read_only, applied, status })
    };
    std::thread::scope(|scope| {
        let asks: Vec<_> =
            cfg.peers().map(|(node, addr)| (node, addr, scope.spawn(move || ask(addr)))).collect();
        asks.into_iter()
            .map(|(node, addr, h)| Peer {
                node: node.clone(),
                addr: addr.clone(),
                answer: h.join().unwrap_or_else(|_| Err("checking it panicked".into())),
            })
            .collect()
    })
}

/// The reachable writable peers.
fn writable(peers: &[Peer]) -> Vec<&Peer> {
    peers.iter().filter(|p| p.answer.as_ref().is_ok_and(|s| !s.read_only)).collect()
}

/// The score of a replica at `mine` (applied ∪ received) among the reachable read-only peers.
pub(crate) fn rank(mine: &GtidSet, peers: &[Peer]) -> i64 {
    let theirs: Vec<GtidSet> = peers
        .iter()
        .filter_map(|p| p.answer.as_ref().ok())
        .filter(|s| s.read_only)
        .map(PeerState::received)
        .collect();
    crate::repl::replica_score(gtid::ahead_count(mine, theirs.iter()))
}

/// Replication configured towards `addr` (the `node_map` address of the primary).
pub(crate) fn points_at(s: &SlaveStatus, addr: &Addr) -> bool {
    s.master_host == addr.host && s.master_port == addr.port
}

/// What a replica's monitor must do about its attachment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Pointed at the reachable writable peer (named): rank it if its IO thread runs.
    Attached(String),
    /// No writable peer is reachable (the primary is gone, or there is none yet): rank it.
    NoPrimary,
    /// A writable peer is reachable but replication does not point at it: replicate from it.
    Reattach {
        /// The writable peer.
        primary: String,
        /// What replication looks like now.
        why: String,
    },
    /// No score, with the reason.
    Withdraw(String),
}

/// The attachment of a read-only instance with replication `status`, given its peers.
pub(crate) fn replica_verdict(status: Option<&SlaveStatus>, peers: &[Peer]) -> Verdict {
    let w = writable(peers);
    match w.as_slice() {
        [] => Verdict::NoPrimary,
        [p] => match status {
            Some(s) if points_at(s, &p.addr) => Verdict::Attached(p.node.clone()),
            Some(s) => Verdict::Reattach {
                primary: p.node.clone(),
                why: format!("replication points at {}:{}", s.master_host, s.master_port),
            },
            None => Verdict::Reattach {
                primary: p.node.clone(),
                why: "no replication is configured".into(),
            },
        },
        many => Verdict::Withdraw(format!(
            "{} peers are writable ({}): no primary to replicate from",
            many.len(),
            many.iter().map(|p| p.node.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Why the IO thread of a replica pointed at a reachable primary does not count as attached,
/// if it does not: not running, or reconnecting for longer than a moment. Waits up to
/// `patience` for a reconnecting thread.
pub(crate) fn io_problem(
    db: &mut Db,
    s: &SlaveStatus,
    primary: &str,
    patience: ocf::Deadline,
) -> Option<String> {
    if s.io_running {
        return None;
    }
    if s.io_connecting {
        let up =
            patience.wait_for(std::time::Duration::from_millis(100), || match db.slave_status() {
                Ok(Some(now)) if now.io_running => Some(()),
                _ => None,
            });
        if up.is_some() {
            return None;
        }
        let err =
            s.io_error.as_ref().map(|(n, t)| format!(" (error {n}: {t})")).unwrap_or_default();
        return Some(format!(
            "the replication IO thread cannot connect to the primary {primary}, which this \
             node's agent reaches{err}"
        ));
    }
    Some(format!("the replication IO thread towards the primary {primary} is not running"))
}

/// Why the peer `p` is not replicating from this primary at `me`, if it is not.
fn not_attached(p: &Peer, me: &Addr) -> Option<String> {
    match &p.answer {
        Err(e) => Some(format!("does not answer ({e})")),
        Ok(s) if !s.read_only => Some("is writable".into()),
        Ok(PeerState { status: None, .. }) => Some("has no replication configured".into()),
        Ok(PeerState { status: Some(s), .. }) if !points_at(s, me) => Some(format!(
            "replicates from {}:{}, not from this primary",
            s.master_host, s.master_port
        )),
        Ok(PeerState { status: Some(s), .. }) if !s.io_running => {
            let err =
                s.io_error.as_ref().map(|(n, t)| format!(", error {n}: {t}")).unwrap_or_default();
            Some(format!("has no running replication IO thread from this primary{err}"))
        }
        Ok(_) => None,
    }
}

/// The primary's monitor: withdraw the score of every peer not replicating from this primary,
/// and give it back (at its rank) once it is.
pub(crate) fn check_replicas(cfg: &Config, ctx: &Ctx) {
    let Some(me) = cfg.node.as_deref().and_then(|n| cfg.nodes.get(n)) else { return };
    let peers = survey(cfg, ctx);
    let file = withdrawn_file(cfg);
    let before = read_set(&file);
    let mut after = BTreeSet::new();
    let attached: Vec<&Peer> = peers.iter().filter(|p| not_attached(p, me).is_none()).collect();
    for p in &peers {
        if let Some(why) = not_attached(p, me) {
            log::warn!("replica {} {why}: its promotion score is withdrawn by the primary", p.node);
            cfg.scores.publish_for(ctx, &p.node, None);
            after.insert(p.node.clone());
        } else if before.contains(&p.node) {
            let Ok(s) = &p.answer else { continue };
            let others: Vec<Peer> =
                attached.iter().filter(|o| o.node != p.node).map(|o| (*o).clone()).collect();
            let score = rank(&s.received(), &others);
            log::info!("replica {} is attached again: promotion score {score} restored", p.node);
            cfg.scores.publish_for(ctx, &p.node, score);
        }
    }
    if after != before {
        write_set(&file, &after);
    }
}

/// Forget whom this instance withdrew (stop).
pub(crate) fn forget(cfg: &Config) {
    write_set(&withdrawn_file(cfg), &BTreeSet::new());
}

fn withdrawn_file(cfg: &Config) -> PathBuf {
    cfg.state.sibling("withdrawn")
}

fn read_set(path: &PathBuf) -> BTreeSet<String> {
    fs::read_to_string(path)
        .map(|t| t.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn write_set(path: &PathBuf, set: &BTreeSet<String>) {
    let text: String = set.iter().map(|n| format!("{n}\n")).collect();
    let done = if set.is_empty() {
        fs::remove_file(path)
            .or_else(|e| if e.kind() == std::io::ErrorKind::NotFound { Ok(()) } else { Err(e) })
    } else {
        ocf::state_file::write(path, text)
    };
    if let Err(e) = done {
        log::warn!("cannot write {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(host: &str, port: u16, io: &str) -> SlaveStatus {
        SlaveStatus {
            master_host: host.into(),
            master_port: port,
            io_running: io == "Yes",
            io_connecting: io == "Connecting",
            sql_running: true,
            ..SlaveStatus::default()
        }
    }

    fn peer(node: &str, port: u16, ro: bool, st: Option<SlaveStatus>) -> Peer {
        Peer {
            node: node.into(),
            addr: Addr { host: "10.0.0.1".into(), port },
            answer: Ok(PeerState { read_only: ro, applied: GtidSet::default(), status: st }),
        }
    }

    fn gone(node: &str, port: u16) -> Peer {
        Peer {
            node: node.into(),
            addr: Addr { host: "10.0.0.1".into(), port },
            answer: Err("connection refused".into()),
        }
    }

    #[test]
    fn a_replica_is_attached_only_to_the_writable_peer() {
        let peers = [gone("n1", 1), peer("n2", 2, false, None)];
        let at_n2 = status("10.0.0.1", 2, "Yes");
        let at_n1 = status("10.0.0.1", 1, "Connecting");
        assert_eq!(replica_verdict(Some(&at_n2), &peers), Verdict::Attached("n2".into()));
        let reattach = |v| matches!(v, Verdict::Reattach { primary, .. } if primary == "n2");
        assert!(reattach(replica_verdict(Some(&at_n1), &peers)));
        assert!(reattach(replica_verdict(None, &peers)));
        let dead = [gone("n1", 1), peer("n3", 3, true, None)];
        assert_eq!(replica_verdict(Some(&at_n1), &dead), Verdict::NoPrimary);
        assert_eq!(replica_verdict(None, &dead), Verdict::NoPrimary);
        let two = [peer("n1", 1, false, None), peer("n2", 2, false, None)];
        assert!(matches!(replica_verdict(Some(&at_n2), &two), Verdict::Withdraw(_)));
    }

    #[test]
    fn the_primary_confirms_each_replica() {
        let me = Addr { host: "10.0.0.1".into(), port: 1 };
        assert_eq!(
            not_attached(&peer("n2", 2, true, Some(status("10.0.0.1", 1, "Yes"))), &me),
            None
        );
        for p in [
            gone("n2", 2),
            peer("n2", 2, false, None),
            peer("n2", 2, true, None),
            peer("n2", 2, true, Some(status("10.0.0.1", 3, "Yes"))),
            peer("n2", 2, true, Some(status("10.0.0.1", 1, "Connecting"))),
            peer("n2", 2, true, Some(status("10.0.0.1", 1, "No"))),
        ] {
            assert!(not_attached(&p, &me).is_some(), "{p:?}");
        }
    }
}
