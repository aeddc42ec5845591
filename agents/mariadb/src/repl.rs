//! Replication between the instances of a promotable clone: where each peer is (GTID positions
//! compared per domain), the promotion score that follows, replicating from the primary (and
//! refusing a forked history), and the two checks a promote makes before going writable.

use std::time::Duration;

use ocf::{Context, Ctx, OcfError, Param, Status};

use crate::attach::{self, Verdict};
use crate::config::Config;
use crate::db::{Db, Refusal, SlaveStatus};
use crate::gtid::{self, GtidSet, Relation};
use crate::peers::{self, Transition};
use crate::settings::{self, Addr};
use crate::state::{ServerRole, State};
use crate::{NODE_MAP, REPLICATION_PASSWD_FILE, REPLICATION_USER};

/// Score of the promoted instance: above any replica's.
pub(crate) const SCORE_PROMOTED: i64 = 1001;
/// Score of a replica that no reachable peer is ahead of.
pub(crate) const SCORE_BEST: i64 = 1000;
/// Taken off per reachable replica that is ahead.
pub(crate) const SCORE_STEP: i64 = 100;
/// Score left to a replica whose promote found a peer ahead.
pub(crate) const SCORE_BEHIND: i64 = 1;

/// The replica score for a rank (number of reachable replicas strictly ahead).
pub(crate) fn replica_score(ahead: usize) -> i64 {
    let ahead = i64::try_from(ahead).unwrap_or(i64::MAX / SCORE_STEP);
    (SCORE_BEST - SCORE_STEP * ahead).max(SCORE_BEHIND + 1)
}

/// GTID positions (applied) of reachable peers and whether they are read-only; with
/// `received`, also what they have received but not applied yet (promote's re-check).
/// Peers are asked in parallel, so unreachable ones cost one timeout, not one each.
pub(crate) fn peer_positions(
    cfg: &Config,
    ctx: &Ctx,
    received: bool,
) -> Vec<(String, bool, GtidSet)> {
    if cfg.repl.pass.is_none() {
        return Vec::new();
    }
    let ask = |addr: &Addr| {
        cfg.peer_db(addr, ctx).and_then(|mut db| {
            let (ro, pos) = db.role_and_pos()?;
            let io = match received.then(|| db.slave_status()) {
                Some(Ok(Some(s))) => GtidSet::parse(&s.gtid_io_pos).unwrap_or_default(),
                _ => GtidSet::default(),
            };
            Ok((ro, pos.union(&io)))
        })
    };
    let answers: Vec<_> = std::thread::scope(|scope| {
        let asks: Vec<_> =
            cfg.peers().map(|(node, addr)| (node, addr, scope.spawn(move || ask(addr)))).collect();
        asks.into_iter().map(|(node, addr, h)| (node, addr, h.join())).collect()
    });
    let mut out = Vec::new();
    for (node, addr, answer) in answers {
        match answer {
            Ok(Ok((ro, pos))) => out.push((node.clone(), ro, pos)),
            Ok(Err(e)) => log::info!("peer {node} at {addr} not reachable: {e}"),
            Err(_) => log::warn!("checking peer {node} at {addr} panicked; skipped"),
        }
    }
    out
}

/// A session on `primary`: the outer error is the configuration's (no address, no
/// password), the inner one says the primary cannot be reached now.
pub(crate) fn connect_primary(
    cfg: &Config,
    ctx: &Ctx,
    primary: &str,
) -> Result<Result<Db, OcfError>, OcfError> {
    let addr = cfg.nodes.get(primary).ok_or_else(|| {
        OcfError::configured(format!(
            "parameter 'node_map' has no entry for node '{primary}' (the primary)"
        ))
    })?;
    if cfg.repl.pass.is_none() {
        return Err(OcfError::configured(
            "parameter 'replication_passwd_file' is not set; cannot replicate",
        ));
    }
    Ok(cfg.peer_db(addr, ctx).map_err(|e| {
        OcfError::generic(format!("cannot reach the primary {primary} at {addr}: {e}"))
    }))
}

/// Make the local server replicate from `primary` by GTID, refusing a forked history.
pub(crate) fn replicate_from(
    cfg: &Config,
    ctx: &Ctx,
    local: &mut Db,
    primary: &str,
) -> Result<(), OcfError> {
    let mut peer = connect_primary(cfg, ctx, primary)??;
    replicate_via(cfg, ctx, local, primary, &mut peer)
}

/// [`replicate_from`] with the session on the primary open.
fn replicate_via(
    cfg: &Config,
    ctx: &Ctx,
    local: &mut Db,
    primary: &str,
    peer: &mut Db,
) -> Result<(), OcfError> {
    let addr = cfg.nodes.get(primary).ok_or_else(|| {
        OcfError::configured(format!(
            "parameter 'node_map' has no entry for node '{primary}' (the primary)"
        ))
    })?;
    let pass = cfg.repl.pass.as_deref().ok_or_else(|| {
        OcfError::configured("parameter 'replication_passwd_file' is not set; cannot replicate")
    })?;
    let theirs = primary_position(peer, primary)?;
    let mine = keep_what_was_received(cfg, ctx, local, primary, &theirs)?;
    let lit = |v: &str, p: &Param| {
        settings::sql_literal(v).ok_or_else(|| {
            OcfError::configured(format!("parameter '{}' contains a NUL byte", p.name))
        })
    };
    let change = format!(
        "CHANGE MASTER TO MASTER_HOST={}, MASTER_PORT={}, MASTER_USER={}, MASTER_PASSWORD={}, \
         MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_HEARTBEAT_PERIOD={:.3}",
        lit(&addr.host, &NODE_MAP)?,
        addr.port,
        lit(&cfg.repl.user, &REPLICATION_USER)?,
        lit(pass, &REPLICATION_PASSWD_FILE)?,
        cfg.heartbeat.as_secs_f64(),
    );
    local.exec("setting sql_mode", "SET SESSION sql_mode=''").context("local")?;
    // A silently dead link (no FIN, no RST) is noticed after slave_net_timeout without a
    // heartbeat, not after MariaDB's default 60 s.
    local
        .exec(
            "setting slave_net_timeout",
            &format!("SET GLOBAL slave_net_timeout={}", cfg.net_timeout.as_secs()),
        )
        .context("local")?;
    local
        .exec("setting gtid_slave_pos", &format!("SET GLOBAL gtid_slave_pos='{mine}'"))
        .context("local")?;
    local.exec("CHANGE MASTER", &change).map_err(|e| {
        // A server error may quote the statement: never let the password through.
        let escaped = settings::sql_literal(pass).unwrap_or_default();
        let escaped = escaped.trim_matches('\'');
        let text = e.to_string().replace(escaped, "***").replace(pass, "***");
        OcfError::generic(format!("CHANGE MASTER failed: {text}"))
    })?;
    if cfg.semi_sync {
        local
            .exec("enabling semi-sync replica", "SET GLOBAL rpl_semi_sync_slave_enabled=ON")
            .context("local")?;
    }
    local.exec("starting replication", "START SLAVE").context("local")?;
    // Wait until the IO thread is connected or refused (a forked history shows as 1236).
    let wait = ocf::Deadline::after(Duration::from_secs(10).min(ctx.deadline.remaining()));
    let status = wait.wait_for(Duration::from_millis(50), || match local.slave_status() {
        Ok(Some(s)) if s.io_running || s.io_error.is_some() => Some(Ok(s)),
        Ok(_) => None,
        Err(e) => Some(Err(e)),
    });
    match status {
        Some(Ok(s)) if s.refusal().is_some() => {
            let _ = local.exec("stopping replication", "STOP SLAVE");
            Err(refused(cfg, ctx, primary, &mine, &s))
        }
        Some(Err(e)) => Err(OcfError::generic(format!("reading replication status: {e}"))),
        _ => {
            log::info!("replicating from {primary} at {addr} by GTID from {mine}");
            Ok(())
        }
    }
}

/// What the primary has: `gtid_binlog_pos` ∪ `gtid_slave_pos` (a domain only in its slave
/// state, such as history imported before the cluster, is still its history).
fn primary_position(peer: &mut Db, primary: &str) -> Result<GtidSet, OcfError> {
    let rows = peer
        .rows(
            "reading the primary's GTID positions",
            "SELECT @@global.gtid_binlog_pos AS b, @@global.gtid_slave_pos AS s",
        )
        .context("primary")?;
    let get = |k: &str| {
        let text = rows.first().and_then(|r| r.get(k)).map_or("", String::as_str);
        GtidSet::parse(text).map_err(|e| OcfError::generic(format!("primary {primary}: {e}")))
    };
    Ok(get("b")?.union(&get("s")?))
}

/// Before re-pointing: stop receiving, compare what this server has received and applied with
/// the primary, apply the relay log, and return the applied position to start from. Refuses
/// (with a verdict kept until stop) when this server holds transactions the primary lacks:
/// `CHANGE MASTER` would discard received ones, and a rebuild would destroy applied ones.
fn keep_what_was_received(
    cfg: &Config,
    ctx: &Ctx,
    local: &mut Db,
    primary: &str,
    theirs: &GtidSet,
) -> Result<GtidSet, OcfError> {
    local.stop_replication(true).context("local")?;
    let status = local.slave_status().context("local")?;
    let (_, applied) = local.role_and_pos().context("local")?;
    let io = match &status {
        Some(s) => GtidSet::parse(&s.gtid_io_pos).map_err(|e| {
            OcfError::generic(format!("cannot re-point: this server's Gtid_IO_Pos: {e}"))
        })?,
        None => GtidSet::default(),
    };
    let received = applied.union(&io);
    if !applied.may_be_prefix_of(theirs) && !theirs.may_be_prefix_of(&applied) {
        return Err(diverged(
            cfg,
            ctx,
            primary,
            &format!(
                "this server's GTID position {applied} is not in the history of {primary} ({theirs})"
            ),
        ));
    }
    if !received.may_be_prefix_of(theirs) {
        return Err(ahead(cfg, ctx, primary, &received, theirs));
    }
    if status.is_some() && io.iter().next().is_some() {
        let wait = ctx.deadline.sub(ctx.deadline.remaining().saturating_sub(PROMOTE_TAIL));
        if let Err(why) = apply_relay_log(local, &io, &wait) {
            let _ = local.exec("restarting replication", "START SLAVE IO_THREAD");
            return Err(OcfError::generic(format!(
                "cannot re-point to {primary} yet: the relay log (received up to {io}) is not applied ({why})"
            )));
        }
    }
    local.stop_replication(false).context("local")?;
    let (_, mine) = local.role_and_pos().context("local")?;
    if !mine.may_be_prefix_of(theirs) {
        return Err(diverged(
            cfg,
            ctx,
            primary,
            &format!(
                "this server's GTID position {mine} is not in the history of {primary} ({theirs})"
            ),
        ));
    }
    Ok(mine)
}

/// Apply the relay log up to `target` (`MASTER_GTID_WAIT`, which waits for the SQL thread
/// and its parallel workers to have committed it, not for a thread state), with the SQL thread
/// started. `Err` says why not: an SQL error, a stopped thread, or the deadline.
pub(crate) fn apply_relay_log(
    db: &mut Db,
    target: &GtidSet,
    deadline: &ocf::Deadline,
) -> Result<(), String> {
    // A stopped (not failed) SQL thread would never apply the relay log.
    let _ = db.exec("starting the SQL thread", "START SLAVE SQL_THREAD");
    loop {
        let step = deadline.remaining().min(Duration::from_secs(1)).as_secs_f64().max(0.05);
        let done = db
            .value(
                "waiting for the relay log to be applied",
                &format!("SELECT MASTER_GTID_WAIT('{target}', {step:.2})"),
            )
            .map_err(|e| e.to_string())?;
        if done.trim() == "0" {
            return Ok(());
        }
        match db.slave_status().map_err(|e| e.to_string())? {
            Some(s) if s.sql_error.is_some() => {
                let (n, text) = s.sql_error.unwrap_or_default();
                return Err(format!("SQL thread stopped, error {n}: {text}"));
            }
            Some(s) if !s.sql_running => return Err("the SQL thread stopped".into()),
            None => return Err("replication is no longer configured".into()),
            Some(_) => {}
        }
        if deadline.expired() {
            return Err("not applied before the timeout".into());
        }
    }
}

/// Keep a verdict: no score, monitor fails with `reason` until the next stop.
fn verdict(cfg: &Config, ctx: &Ctx, reason: String) -> OcfError {
    log::error!("{reason}");
    let mut st = cfg.state.load();
    st.diverged = Some(reason.clone());
    cfg.scores.publish(ctx, None);
    cfg.state.save(&st);
    OcfError::generic(reason)
}

/// Record a forked history: no score, monitor fails until the next stop.
pub(crate) fn diverged(cfg: &Config, ctx: &Ctx, primary: &str, why: &str) -> OcfError {
    verdict(
        cfg,
        ctx,
        format!(
            "diverged from the primary {primary}: {why}; refusing to replicate (rebuild this node from the primary)"
        ),
    )
}

/// Record that this server holds transactions `primary` lacks: it must be kept, not rebuilt.
fn ahead(cfg: &Config, ctx: &Ctx, primary: &str, mine: &GtidSet, theirs: &GtidSet) -> OcfError {
    let n = mine.count_beyond(theirs);
    verdict(
        cfg,
        ctx,
        format!(
            "not replicating from {primary}: this node holds {n} transactions the new primary {primary} lacks ({mine} received or applied, {primary} at {theirs}) — do not rebuild it; decide which history to keep"
        ),
    )
}

/// The verdict for an IO thread the primary refused with error 1236, by its text.
pub(crate) fn refused(
    cfg: &Config,
    ctx: &Ctx,
    primary: &str,
    mine: &GtidSet,
    s: &SlaveStatus,
) -> OcfError {
    let (_, text) = s.io_error.clone().unwrap_or_default();
    match s.refusal() {
        Some(Refusal::Purged) => verdict(
            cfg,
            ctx,
            format!(
                "needs a rebuild: the primary no longer has the binary logs this server needs to catch up from {mine} ({primary}, error 1236: {text}); its history is not known to have forked"
            ),
        ),
        Some(Refusal::Forked) => diverged(
            cfg,
            ctx,
            primary,
            &format!("{primary} refused this server's GTID position {mine} (error 1236: {text})"),
        ),
        _ => OcfError::generic(format!(
            "the primary {primary} refused to send its binary log (error 1236: {text})"
        )),
    }
}

pub(crate) fn configure_started(cfg: &Config, ctx: &Ctx, db: &mut Db) -> Result<(), OcfError> {
    let mut st = cfg.state.load();
    if !cfg.promotable {
        db.exec("making the server writable", "SET GLOBAL read_only=OFF").context("start")?;
        st.role = Some(ServerRole::Standalone);
        cfg.state.save(&st);
        return Ok(());
    }
    db.exec("making the server read-only", "SET GLOBAL read_only=ON").context("start")?;
    let log_bin = db.value("reading log_bin", "SELECT @@global.log_bin").context("start")?;
    if log_bin.trim() != "1" {
        return Err(OcfError::configured(
            "the server runs without a binary log; set log-bin in the option file (parameter 'config') for a promotable clone",
        ));
    }
    crate::durable::check(db, cfg.semi_sync)?;
    crate::events::stop_scheduler(db, "start")?;
    if cfg.semi_sync {
        db.exec("enabling semi-sync replica", "SET GLOBAL rpl_semi_sync_slave_enabled=ON")
            .context("start")?;
    }
    st.diverged = None;
    read_only_now(cfg, db, &mut st)?;
    let primary = match Transition::from_env(&ctx.env) {
        Some(t) => {
            for p in t.leaving_primaries() {
                log::info!("not following {p}: this transition stops or demotes it");
            }
            t.primary(cfg.node.as_deref())
        }
        // Outside Pacemaker (no notify variables), a writable peer is the primary.
        None => {
            peer_positions(cfg, ctx, false).into_iter().find(|(_, ro, _)| !ro).map(|(n, _, _)| n)
        }
    };
    let Some(p) = primary else {
        log::info!("no primary known yet: waiting read-only");
        return refresh_replica_score(cfg, ctx, db);
    };
    match connect_primary(cfg, ctx, &p)? {
        Ok(mut peer) => {
            replicate_via(cfg, ctx, db, &p, &mut peer)?;
            refresh_replica_score(cfg, ctx, db)
        }
        Err(e) => {
            // The primary of the notify variables is the one *before* the transition, which may
            // be the node whose loss it recovers from. A start failure would ban this node;
            // it waits instead, without a score, for the new primary's post-promote
            // notification to attach it.
            log::warn!(
                "{}; waiting read-only and unattached, without a promotion score, for the next primary",
                e.reason()
            );
            cfg.scores.publish(ctx, None);
            Ok(())
        }
    }
}

pub(crate) fn refresh_replica_score(cfg: &Config, ctx: &Ctx, db: &mut Db) -> Result<(), OcfError> {
    let (_, pos) = db.role_and_pos().context("reading the GTID position")?;
    let status = db.slave_status().context("reading the replication status")?;
    let score = attach::rank(&attach::received(&pos, status.as_ref()), &attach::survey(cfg, ctx));
    cfg.scores.publish(ctx, Some(score));
    Ok(())
}

/// Record that the agent made the server a read-only clone instance, and where its binary log
/// was then: what it commits itself afterwards is a local write ([`local_writes`]).
pub(crate) fn read_only_now(cfg: &Config, db: &mut Db, st: &mut State) -> Result<(), OcfError> {
    let (pos, _) = db.binlog_pos_and_server_id().context("recording the binary-log position")?;
    st.role = Some(ServerRole::Unpromoted);
    st.read_only_at = Some(pos);
    cfg.state.save(st);
    Ok(())
}

/// Why this read-only server holds transactions it committed itself since it became read-only,
/// if it does (review item D12): `read_only` does not stop a user with SUPER or READ ONLY ADMIN
/// (a DBA session, an application connected as root, `mysqlcheck --optimize`), and those
/// transactions are in no other server's history.
fn local_writes(cfg: &Config, db: &mut Db, st: &State) -> Result<Option<String>, OcfError> {
    let (now, id) = db.binlog_pos_and_server_id().context("monitor")?;
    let Some(since) = &st.read_only_at else {
        // Made read-only by an agent that did not record the position: count from now.
        let mut st = st.clone();
        st.read_only_at = Some(now);
        cfg.state.save(&st);
        return Ok(None);
    };
    let own = gtid::own_writes_since(&now, since, id);
    if own.is_empty() {
        return Ok(None);
    }
    let list: Vec<String> = own.iter().map(ToString::to_string).collect();
    Ok(Some(format!(
        "this replica committed transactions itself (last GTID {} with its own server_id {id}, \
         binary log at {since} when it became read-only): writes by a user with SUPER or READ \
         ONLY ADMIN, which read_only does not stop; no other server has them",
        list.join(", ")
    )))
}

/// Monitor of a running, read-only instance of a promotable clone: a score only while it is
/// attached to the writable peer, or while no writable peer is reachable at all (see
/// [`attach`]).
pub(crate) fn monitor_replica(
    cfg: &Config,
    ctx: &Ctx,
    db: &mut Db,
    st: &State,
    pos: &GtidSet,
) -> Result<Status, OcfError> {
    if let Some(why) = st.diverged.clone() {
        cfg.scores.publish(ctx, None);
        return Err(OcfError::generic(why));
    }
    if let Some(why) = local_writes(cfg, db, st)? {
        return Ok(withdraw(cfg, ctx, &why));
    }
    let mut status = db.slave_status().context("monitor")?;
    if let Some(s) = &status
        && matches!(s.refusal(), Some(Refusal::Forked | Refusal::Purged))
    {
        let primary = format!("{}:{}", s.master_host, s.master_port);
        return Err(refused(cfg, ctx, &primary, pos, s));
    }
    let peers = attach::survey(cfg, ctx);
    let primary = match attach::replica_verdict(status.as_ref(), &peers) {
        Verdict::NoPrimary => None,
        Verdict::Attached(p) => Some(p),
        Verdict::Withdraw(why) => return Ok(withdraw(cfg, ctx, &why)),
        Verdict::Reattach { primary, why } => {
            log::warn!("{why} but {primary} is the primary: replicating from it");
            if let Err(e) = replicate_from(cfg, ctx, db, &primary) {
                if cfg.state.load().diverged.is_some() {
                    return Err(e);
                }
                let why = format!("cannot replicate from the primary {primary}: {}", e.reason());
                return Ok(withdraw(cfg, ctx, &why));
            }
            status = db.slave_status().context("monitor")?;
            Some(primary)
        }
    };
    // Lag or broken replication costs the score, never the monitor: a restart would purge the
    // relay log and start over (a replica applying a long ALTER would never catch up), and
    // with migration-threshold=1 it would ban the node.
    if let Some(s) = &status
        && let Some(problem) = s.problem(cfg.max_lag)
    {
        return Ok(withdraw(cfg, ctx, &problem));
    }
    if let (Some(p), Some(s)) = (&primary, &status) {
        let patience = Duration::from_secs(3).min(ctx.deadline.remaining() / 2);
        if let Some(why) = attach::io_problem(db, s, p, ocf::Deadline::after(patience)) {
            return Ok(withdraw(cfg, ctx, &why));
        }
    }
    let score = attach::rank(&attach::received(pos, status.as_ref()), &peers);
    cfg.scores.publish(ctx, Some(score));
    Ok(Status::Running)
}

/// No score for this replica, for `why` (logged); the instance still runs.
fn withdraw(cfg: &Config, ctx: &Ctx, why: &str) -> Status {
    log::warn!("{why}; promotion score withdrawn");
    cfg.scores.publish(ctx, None);
    Status::Running
}

/// Promote's first step: apply everything already received before comparing and going
/// writable. Stops the IO thread and waits, with the SQL thread started, until everything up
/// to `Gtid_IO_Pos` is committed (`MASTER_GTID_WAIT`: with parallel replication the driver
/// thread reads the whole relay log long before its workers have committed it). Returns the
/// received position.
pub(crate) fn drain_relay_log(cfg: &Config, ctx: &Ctx, db: &mut Db) -> Result<GtidSet, OcfError> {
    if db.slave_status().context("promote")?.is_none() {
        return Ok(GtidSet::default());
    }
    let t = std::time::Instant::now();
    let _ = db.stop_replication(true);
    if t.elapsed() > Duration::from_millis(500) {
        // Bounded by Db::stop_replication and the kill-connection timeout set at start; logged
        // to show when it still happens.
        log::info!("stopping the replication IO thread took {} ms", t.elapsed().as_millis());
    }
    let Some(s) = db.slave_status().context("promote")? else {
        return Ok(GtidSet::default());
    };
    if let Some((n, text)) = &s.sql_error {
        cfg.scores.publish(ctx, None);
        return Err(OcfError::generic(format!(
            "cannot promote: the relay log cannot be applied (SQL error {n}: {text})"
        )));
    }
    let io = GtidSet::parse(&s.gtid_io_pos).map_err(|e| {
        OcfError::generic(format!("cannot promote: what this server received is unknown ({e})"))
    })?;
    log::info!("applying the relay log (received up to {io}) before promotion");
    match apply_relay_log(db, &io, &ctx.deadline) {
        Ok(()) => Ok(io),
        Err(why) if ctx.deadline.expired() => {
            let _ = db.exec("restarting replication", "START SLAVE IO_THREAD");
            Err(OcfError::generic(format!(
                "cannot promote: the relay log was not applied before the timeout ({why})"
            )))
        }
        Err(why) => {
            cfg.scores.publish(ctx, None);
            Err(OcfError::generic(format!(
                "cannot promote: the relay log cannot be applied ({why})"
            )))
        }
    }
}

/// Promote's last replication step: stop replication and make sure that what was received is
/// still all applied (a worker that stopped with the threads would leave a gap) before the
/// relay log is deleted.
pub(crate) fn stop_keeping_received(db: &mut Db, received: &GtidSet) -> Result<(), OcfError> {
    db.stop_replication(false).context("promote")?;
    let (_, applied) = db.role_and_pos().context("promote")?;
    if !received.may_be_prefix_of(&applied) {
        let _ = db.exec("restarting replication", "START SLAVE");
        return Err(OcfError::generic(format!(
            "cannot promote: after stopping replication the applied position {applied} lacks received transactions (up to {received})"
        )));
    }
    Ok(())
}

/// Promote's re-check of the peers: every peer Pacemaker reports active (and not stopped by
/// this transition) must report what it has received, retried until shortly before the
/// promote's deadline; then refuse a second primary, and when a peer is further ahead, move
/// the promotion score to it and refuse. Outside Pacemaker (no notify variables, nothing kept
/// by a pre-promote notification) the peers of `node_map` that answer are checked.
pub(crate) fn check_peers(
    cfg: &Config,
    ctx: &Ctx,
    db: &mut Db,
    mine: &GtidSet,
) -> Result<(), OcfError> {
    let reports = match peers::required_for_promote(cfg, ctx) {
        Some(required) => {
            if let Some(n) = required.iter().find(|n| !cfg.nodes.contains_key(*n)) {
                // Waiting would not help: nothing says where its server answers.
                return Err(OcfError::generic(format!(
                    "cannot promote: parameter 'node_map' has no entry for node '{n}', which Pacemaker reports active"
                )));
            }
            let left = ctx.deadline.remaining().saturating_sub(PROMOTE_TAIL);
            let wait = ctx.deadline.sub(left);
            match peers::reports_of(cfg, ctx, &required, &wait, Duration::from_millis(250)) {
                Ok(r) => r,
                Err(silent) => {
                    let _ = db.exec("restarting replication", "START SLAVE IO_THREAD");
                    return Err(OcfError::generic(format!(
                        "cannot promote: no received position from {silent}; every peer Pacemaker reports active must answer"
                    )));
                }
            }
        }
        None => {
            log::warn!(
                "no notify variables: checking the peers of node_map that answer (outside Pacemaker)"
            );
            peer_positions(cfg, ctx, true)
                .into_iter()
                .map(|(n, read_only, received)| {
                    (n, peers::Report { read_only, received, state: None })
                })
                .collect()
        }
    };
    let my_state = peers::binlog_state(db, mine).map_err(|e| {
        OcfError::generic(format!("cannot promote: this server's binlog state is unknown ({e})"))
    })?;
    for (node, r) in reports {
        if !r.read_only {
            let _ = db.exec("restarting replication", "START SLAVE IO_THREAD");
            return Err(OcfError::generic(format!(
                "cannot promote: {node} is writable (a primary already); refusing a second primary"
            )));
        }
        let theirs = r.received;
        let relation = theirs.relation(mine);
        // A peer ahead by its last GTIDs that lacks transactions of a server this one has is a
        // fork with higher sequence numbers, not a better candidate.
        let lacks = r.state.as_ref().and_then(|st| my_state.beyond(st));
        if relation == Relation::Diverged || (relation == Relation::Ahead && lacks.is_some()) {
            let _ = db.exec("restarting replication", "START SLAVE IO_THREAD");
            let detail = match lacks {
                Some(g) if relation == Relation::Ahead => {
                    format!("{node} lacks {g}, which this server has")
                }
                _ => "each has transactions the other lacks".to_owned(),
            };
            return Err(OcfError::generic(format!(
                "cannot promote: {node} ({theirs}) and this server ({mine}) have forked histories ({detail}); promoting either would drop the other's transactions, an operator must decide"
            )));
        }
        if relation == Relation::Ahead {
            cfg.scores.publish(ctx, Some(SCORE_BEHIND));
            cfg.scores.publish_for(ctx, &node, SCORE_BEST);
            let _ = db.exec("restarting replication", "START SLAVE IO_THREAD");
            return Err(OcfError::generic(format!(
                "cannot promote: {node} is ahead ({theirs} vs {mine}); promotion score moved to {node}"
            )));
        }
    }
    Ok(())
}

/// What a promote keeps back from its deadline for the steps after the peer check.
const PROMOTE_TAIL: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_rank_replicas() {
        assert_eq!(replica_score(0), SCORE_BEST);
        assert_eq!(replica_score(1), SCORE_BEST - SCORE_STEP);
        assert!(replica_score(1000) > SCORE_BEHIND);
    }
}
