//! Which peers count, as Pacemaker sees the clone in the current transition, and what every
//! one of them has received.
//!
//! Pacemaker gives the notify variables (`notify_active_uname`, `notify_stop_uname`, …) to the
//! notify actions and, with the same lists, to the start, stop, promote and demote actions
//! themselves. They describe the instances *before* the transition and what it will do. From
//! them:
//!
//! - the primary a starting replica should follow is a node listed as promoted that the
//!   transition does not stop or demote ([`Transition::primary`]);
//! - the peers a promote must hear from are the active instances the transition does not stop
//!   ([`Transition::required_peers`]): semi-sync acknowledges a commit once *one* replica has
//!   received it, so after losing the primary an acknowledged transaction may be in any one
//!   surviving replica's relay log, and deciding without every survivor's position can lose it.
//!   A peer Pacemaker reports stopped, inactive or fenced is not asked at all.
//!
//! The pre-promote notification keeps the required set in `state_dir` (`<instance>.peers`), for
//! a promote that finds no lists of its own.

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use ocf::{Ctx, OcfEnv};

use crate::config::Config;
use crate::db::Db;
use crate::gtid::{BinlogState, GtidSet};
use crate::settings::Addr;

/// The node lists of the notify variables that matter here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Transition {
    /// Instances active before the transition (promoted and unpromoted included).
    pub(crate) active: BTreeSet<String>,
    /// Instances promoted before the transition.
    pub(crate) promoted: Vec<String>,
    /// Instances the transition stops.
    pub(crate) stop: BTreeSet<String>,
    /// Instances the transition demotes.
    pub(crate) demote: BTreeSet<String>,
}

fn words(env: &OcfEnv, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .find_map(|n| env.meta(n).filter(|v| !v.trim().is_empty()))
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

impl Transition {
    /// From the environment; `None` when Pacemaker gave no node list at all (outside a
    /// cluster, or an action of a clone without `notify=true`).
    pub(crate) fn from_env(env: &OcfEnv) -> Option<Transition> {
        let listed = ["active", "promoted", "master", "unpromoted", "slave", "stop", "start"]
            .iter()
            .any(|l| {
                env.meta(&format!("notify_{l}_resource")).is_some()
                    || env.meta(&format!("notify_{l}_uname")).is_some()
            });
        if !listed {
            return None;
        }
        let mut active: BTreeSet<String> =
            words(env, &["notify_active_uname"]).into_iter().collect();
        let promoted = words(env, &["notify_promoted_uname", "notify_master_uname"]);
        active.extend(words(env, &["notify_unpromoted_uname", "notify_slave_uname"]));
        active.extend(promoted.iter().cloned());
        Some(Transition {
            active,
            promoted,
            stop: words(env, &["notify_stop_uname"]).into_iter().collect(),
            demote: words(env, &["notify_demote_uname"]).into_iter().collect(),
        })
    }

    /// The primary a replica on `node` should follow: promoted before the transition and
    /// neither stopped nor demoted by it.
    pub(crate) fn primary(&self, node: Option<&str>) -> Option<String> {
        self.promoted
            .iter()
            .find(|n| {
                Some(n.as_str()) != node && !self.stop.contains(*n) && !self.demote.contains(*n)
            })
            .cloned()
    }

    /// Nodes listed as promoted that the transition stops or demotes (a primary that is going
    /// away, not one to follow).
    pub(crate) fn leaving_primaries(&self) -> Vec<&str> {
        self.promoted
            .iter()
            .filter(|n| self.stop.contains(*n) || self.demote.contains(*n))
            .map(String::as_str)
            .collect()
    }

    /// The peers a promote on `node` must hear from: active and not stopped (active + unpromoted
    /// − stop), this node excluded.
    pub(crate) fn required_peers(&self, node: Option<&str>) -> BTreeSet<String> {
        self.active
            .iter()
            .filter(|n| Some(n.as_str()) != node && !self.stop.contains(*n))
            .cloned()
            .collect()
    }
}

/// Where the pre-promote notification keeps the required peers.
fn peers_file(cfg: &Config) -> PathBuf {
    cfg.state.sibling("peers")
}

/// Parse the kept set (`required=n2 n3`).
pub(crate) fn parse_kept(text: &str) -> Option<BTreeSet<String>> {
    text.lines()
        .find_map(|l| l.strip_prefix("required="))
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
}

/// The text kept for `peers`.
pub(crate) fn render_kept(peers: &BTreeSet<String>) -> String {
    let list: Vec<&str> = peers.iter().map(String::as_str).collect();
    format!("required={}\n", list.join(" "))
}

/// Pre-promote: keep the peers a promote must hear from.
pub(crate) fn keep_required(cfg: &Config, ctx: &Ctx) {
    let Some(t) = Transition::from_env(&ctx.env) else { return };
    let required = t.required_peers(cfg.node.as_deref());
    let path = peers_file(cfg);
    match ocf::state_file::write(&path, render_kept(&required)) {
        Ok(()) => log::info!("peers a promote must hear from: {}", render_kept(&required).trim()),
        Err(e) => log::warn!("cannot write {}: {e}", path.display()),
    }
}

/// Forget the kept set (after a promote, on stop).
pub(crate) fn forget_required(cfg: &Config) {
    let _ = fs::remove_file(peers_file(cfg));
}

/// The peers a promote must hear from: from the promote's own notify variables, else from the
/// set the pre-promote notification kept; `None` when Pacemaker told neither (outside a
/// cluster).
pub(crate) fn required_for_promote(cfg: &Config, ctx: &Ctx) -> Option<BTreeSet<String>> {
    if let Some(t) = Transition::from_env(&ctx.env) {
        return Some(t.required_peers(cfg.node.as_deref()));
    }
    fs::read_to_string(peers_file(cfg)).ok().and_then(|t| parse_kept(&t))
}

/// What one peer reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Report {
    /// `@@read_only`.
    pub(crate) read_only: bool,
    /// Applied (`gtid_current_pos`) ∪ received (`Gtid_IO_Pos`).
    pub(crate) received: GtidSet,
    /// `@@gtid_binlog_state` with the received position added; `None` outside Pacemaker's
    /// check (not asked).
    pub(crate) state: Option<BinlogState>,
}

/// What a server has, per *(domain, server)*: `@@gtid_binlog_state` ∪ `@@gtid_current_pos` ∪
/// `received`.
pub(crate) fn binlog_state(db: &mut Db, received: &GtidSet) -> Result<BinlogState, String> {
    let text = db
        .value("reading gtid_binlog_state", "SELECT @@global.gtid_binlog_state")
        .map_err(|e| e.to_string())?;
    let (_, applied) = db.role_and_pos().map_err(|e| e.to_string())?;
    let st = BinlogState::parse(&text).map_err(|e| format!("gtid_binlog_state: {e}"))?;
    Ok(st.with(&applied).with(received))
}

/// Ask one peer for its role and received position. A `SHOW SLAVE STATUS` that fails or a
/// `Gtid_IO_Pos` that does not parse is an error (unknown), never an empty position.
fn ask(cfg: &Config, ctx: &Ctx, addr: &Addr) -> Result<Report, String> {
    let mut db = cfg.peer_db(addr, ctx).map_err(|e| e.to_string())?;
    let (read_only, applied) = db.role_and_pos().map_err(|e| e.to_string())?;
    let received = match db.slave_status().map_err(|e| e.to_string())? {
        None => GtidSet::default(),
        Some(s) => GtidSet::parse(&s.gtid_io_pos).map_err(|e| format!("Gtid_IO_Pos: {e}"))?,
    };
    let received = applied.union(&received);
    let state = binlog_state(&mut db, &received)?;
    Ok(Report { read_only, received, state: Some(state) })
}

/// Ask `nodes` in parallel; each answer or the reason it is unknown.
pub(crate) fn ask_all(
    cfg: &Config,
    ctx: &Ctx,
    nodes: &[String],
) -> Vec<(String, Result<Report, String>)> {
    std::thread::scope(|scope| {
        let asks: Vec<_> = nodes
            .iter()
            .map(|node| {
                let h = scope.spawn(move || match cfg.nodes.get(node) {
                    Some(addr) => ask(cfg, ctx, addr).map_err(|e| format!("at {addr}: {e}")),
                    None => Err("has no entry in node_map".to_owned()),
                });
                (node.clone(), h)
            })
            .collect();
        asks.into_iter()
            .map(|(node, h)| {
                let answer = h.join().unwrap_or_else(|_| Err("the check panicked".to_owned()));
                (node, answer)
            })
            .collect()
    })
}

/// Every peer in `required` reports, retrying the silent ones every `every` until `deadline`;
/// `Err` names the peers still silent and why.
pub(crate) fn reports_of(
    cfg: &Config,
    ctx: &Ctx,
    required: &BTreeSet<String>,
    deadline: &ocf::Deadline,
    every: Duration,
) -> Result<Vec<(String, Report)>, String> {
    let mut got: Vec<(String, Report)> = Vec::new();
    let mut silent: Vec<String> = required.iter().cloned().collect();
    let mut why: Vec<(String, String)> = Vec::new();
    loop {
        why.clear();
        for (node, answer) in ask_all(cfg, ctx, &silent) {
            match answer {
                Ok(r) => got.push((node, r)),
                Err(e) => why.push((node, e)),
            }
        }
        silent = why.iter().map(|(n, _)| n.clone()).collect();
        if silent.is_empty() {
            return Ok(got);
        }
        if deadline.expired() {
            let list: Vec<String> = why.iter().map(|(n, e)| format!("{n} ({e})")).collect();
            return Err(list.join(", "));
        }
        for (n, e) in &why {
            log::info!("waiting for peer {n}: {e}");
        }
        deadline.sleep(every);
    }
}

/// A writable server this agent did not promote (no `role=promoted` in its state: a probe
/// after the state was lost, or `read_only` switched off by hand) is not adopted silently. When
/// another peer of `node_map` is writable too, there are two primaries: refuse, naming both, so
/// that an operator decides. Otherwise it is taken as the primary, with a warning.
pub(crate) fn refuse_second_writable(
    cfg: &Config,
    ctx: &Ctx,
    mine: &GtidSet,
) -> Result<(), ocf::OcfError> {
    let nodes: Vec<String> = cfg.peers().map(|(n, _)| n.clone()).collect();
    let writable: Vec<(String, GtidSet)> = ask_all(cfg, ctx, &nodes)
        .into_iter()
        .filter_map(|(n, a)| a.ok().filter(|r| !r.read_only).map(|r| (n, r.received)))
        .collect();
    if let Some((other, theirs)) = writable.first() {
        return Err(ocf::OcfError::generic(format!(
            "this server ({mine}) and {other} ({theirs}) are both writable, and this agent did not promote this one: two primaries; refusing to adopt either, an operator must decide"
        )));
    }
    log::warn!(
        "the server is writable although this agent did not promote it; no other peer is writable: taking it as the primary"
    );
    Ok(())
}

/// A mariadbd this agent did not start that answers on our socket (Debian's enabled
/// `mariadb.service` uses the default datadir and socket): reported, never taken for ours.
pub(crate) fn foreign_server(cfg: &Config, ctx: &Ctx) -> Option<ocf::OcfError> {
    let t = Duration::from_millis(500).min(ctx.deadline.remaining());
    Db::local(&cfg.socket, &cfg.local, t).ok()?;
    Some(ocf::OcfError::generic(format!(
        "a mariadbd this agent did not start answers on the socket {} (datadir {}); stop and disable it (systemctl disable --now mariadb)",
        cfg.socket, cfg.datadir
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(pairs: &[(&str, &str)]) -> Option<Transition> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (format!("OCF_RESKEY_CRM_meta_{k}"), (*v).to_owned()))
            .collect();
        let refs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Transition::from_env(&OcfEnv::from_pairs(&refs))
    }

    #[test]
    fn no_lists_no_transition() {
        assert_eq!(t(&[("on_node", "n1")]), None);
    }

    #[test]
    fn a_primary_being_stopped_is_not_followed() {
        let tr = t(&[("notify_promoted_uname", "n1"), ("notify_stop_uname", "n1 ")]).unwrap();
        assert_eq!(tr.primary(Some("n3")), None);
        assert_eq!(tr.leaving_primaries(), ["n1"]);
        let tr = t(&[("notify_master_uname", "n1")]).unwrap();
        assert_eq!(tr.primary(Some("n3")).as_deref(), Some("n1"));
        assert_eq!(tr.primary(Some("n1")), None);
        let tr = t(&[("notify_promoted_uname", "n1"), ("notify_demote_uname", "n1")]).unwrap();
        assert_eq!(tr.primary(Some("n3")), None);
    }

    #[test]
    fn required_peers_are_active_minus_stopped_minus_self() {
        let tr = t(&[
            ("notify_active_uname", "n1 n2 n3"),
            ("notify_unpromoted_uname", "n2 n3 n4"),
            ("notify_stop_uname", "n1"),
        ])
        .unwrap();
        let want: BTreeSet<String> = ["n3", "n4"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(tr.required_peers(Some("n2")), want);
    }

    #[test]
    fn kept_set_round_trips() {
        let set: BTreeSet<String> = ["n2", "n3"].iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(parse_kept(&render_kept(&set)), Some(set));
        assert_eq!(parse_kept("required=\n"), Some(BTreeSet::new()));
        assert_eq!(parse_kept("noise"), None);
    }
}
