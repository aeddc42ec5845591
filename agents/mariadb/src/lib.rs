//! `ocf:ferroha:mariadb` — MariaDB GTID replication as a promotable clone that never loses or
//! forks data.
//!
//! As a plain primitive the agent runs one writable server. As a promotable clone
//! (`promotable=true notify=true`) every instance starts read-only; the promoted one is the
//! writable primary and the others replicate from it with GTID (`MASTER_USE_GTID=slave_pos`,
//! `gtid_strict_mode`). Promotion scores rank replicas by how far they have received, compared
//! per replication domain, and only a replica attached to the current primary (or left without
//! one) has a score; a promote hears from every peer Pacemaker reports active (what each has
//! received) and fails, moving the score, when one of them is ahead, or when two histories
//! forked. An old primary whose history forked from the new primary's is refused instead of
//! rejoining silently, and a replica that holds transactions the new primary lacks keeps them.
//!
//! All SQL goes over the native protocol (the `mysql` crate): the local server through its
//! unix socket, peers over TCP with the replication user. No `mysql` client is run, no password
//! is put on a command line or in a log line, and a monitor forks nothing except
//! `crm_attribute` when the promotion score actually changes.

mod attach;
mod config;
mod db;
mod durable;
mod events;
#[cfg(test)]
mod fuzz_tests;
mod gtid;
mod peers;
mod repl;
mod semisync;
mod server;
mod settings;
mod state;

// `ferroha-mariadb-rebuild` (its own binary); documented in the module itself.
pub mod rebuild;

use std::fs;
use std::path::Path;

use ocf::{ActionSpec, Agent, AgentInfo, Context, Ctx, MetaRole, NotifyOp, NotifyType, OcfCode};
use ocf::{OcfError, Param, Status, Values};

use config::Config;
use db::Db;
use repl::SCORE_PROMOTED;
use server::{Running, Server};
use state::{ServerRole, StateFile};

pub(crate) const BINARY: Param = Param::string("binary").default("/usr/sbin/mariadbd").desc(
    "mariadbd binary",
    "The server binary, started directly (no mysqld_safe wrapper, no shell).",
);
pub(crate) const CONFIG: Param = Param::string("config").default("/etc/mysql/my.cnf").desc(
    "Option file",
    "Passed as --defaults-file; the value none starts the server with --no-defaults. It \
     should set a distinct server-id per node and log-bin (needed for a promotable clone).",
);
pub(crate) const DATADIR: Param = Param::string("datadir").default("/var/lib/mysql").desc(
    "Data directory",
    "The server's data directory; it must exist and hold an initialised database \
     (mariadb-install-db).",
);
pub(crate) const SOCKET: Param = Param::string("socket")
    .default("/run/mysqld/mysqld.sock")
    .desc("Unix socket", "The server's socket; all local SQL of the agent goes through it.");
pub(crate) const PID: Param = Param::string("pid").default("/run/mysqld/mysqld.pid").desc(
    "Pid file",
    "The server's pid file (--pid-file). The agent records the process it starts (pid, start \
     time, boot id) in state_dir and signals only that process; a server running without \
     that record is taken for the agent's only if its command line carries this pid file and \
     datadir and it started before this file was written.",
);
pub(crate) const LOG: Param = Param::string("log").default("/var/log/mysql/error.log").desc(
    "Error log",
    "Passed as --log-error; its last line is quoted when the server dies during start.",
);
pub(crate) const USER: Param = Param::string("user").default("mysql").desc(
    "Run-as user",
    "Passed as --user; the socket and pid directories are created for this user.",
);
pub(crate) const GROUP: Param = Param::string("group")
    .default("mysql")
    .desc("Run-as group", "Group owning the socket and pid directories the agent creates.");
pub(crate) const PORT: Param = Param::integer("port", 1, 65535)
    .default("3306")
    .desc("TCP port", "Passed as --port; also the default port of node_map entries without one.");
pub(crate) const ADDITIONAL_PARAMETERS: Param = Param::string("additional_parameters").desc(
    "Extra server arguments",
    "Appended to the mariadbd command line, split into words as a POSIX shell splits plain \
     words ('single' and \"double\" quotes, backslash escapes, a word starting with # begins \
     a comment) but never run through a shell: nothing is expanded. An unclosed quote is a \
     configuration error. Never put a password here.",
);
pub(crate) const REPLICATION_USER: Param = Param::string("replication_user").default("repl").desc(
    "Replication user",
    "The user replicas connect to the primary with, and the agent connects to peers with \
     to compare GTID positions. Needs REPLICATION SLAVE and SLAVE MONITOR on every node.",
);
pub(crate) const REPLICATION_PASSWD_FILE: Param = Param::string("replication_passwd_file").desc(
    "Replication password file",
    "A file whose first line is the replication user's password. Refused (exit 2) when \
     group or others may access it. The password travels only inside the SQL protocol.",
);
pub(crate) const REPLICATION_PASSWD: Param = Param::string("replication_passwd").desc(
    "Replication password (compatibility)",
    "Accepted for configurations migrated from ocf:heartbeat:mysql; replication_passwd_file \
     wins when both are set. Never passed on a command line nor logged, but the CIB shows \
     it: prefer the file.",
);
pub(crate) const TEST_USER: Param = Param::string("test_user").default("root").desc(
    "Local SQL user",
    "The user the agent logs in as over the socket for monitor and role changes. root \
     logs in by unix_socket authentication without a password.",
);
pub(crate) const TEST_PASSWD_FILE: Param = Param::string("test_passwd_file").desc(
    "Local SQL password file",
    "A file whose first line is test_user's password, if it needs one. Same rules as \
     replication_passwd_file.",
);
pub(crate) const MAX_SLAVE_LAG: Param =
    Param::integer("max_slave_lag", 0, 86400).default("60").desc(
        "Maximum replica lag, seconds",
        "A replica further behind than this (Seconds_Behind_Master) loses its promotion score, \
         with the reason logged; its monitor still succeeds, so it goes on catching up.",
    );
pub(crate) const SEMI_SYNC: Param = Param::boolean("semi_sync").default("false").desc(
    "Semi-synchronous replication",
    "When true, replicas acknowledge received transactions and the primary waits for one \
     acknowledgement (AFTER_SYNC) before a commit returns, so an acknowledged commit \
     survives losing the primary.",
);
pub(crate) const SEMI_SYNC_TIMEOUT: Param =
    Param::integer("semi_sync_timeout", 0, 31_536_000).default("30").desc(
        "Semi-sync acknowledgement timeout, seconds",
        "rpl_semi_sync_master_timeout, set at promote: how long a commit waits for a replica's \
         acknowledgement before MariaDB falls back to asynchronous replication (the promoted \
         monitor then reports 191). Zero loss holds only if a cut-off primary is fenced before \
         this runs out, so it must exceed failure detection plus the slowest fencing (corosync \
         token and consensus, plus the fence device's time). 0: never fall back, a primary \
         without a replica blocks commits until one acknowledges or the primary is fenced.",
    );
pub(crate) const EVENT_SCHEDULER: Param = Param::boolean("event_scheduler").default("false").desc(
    "Run scheduled events on the primary",
    "Replicas never run the event scheduler (clone instances start with \
     --event-scheduler=OFF, demote switches it off): an event fires as its definer, whom \
     read_only does not stop, and would write behind replication's back. When true, promote \
     re-enables the events replication marked SLAVESIDE_DISABLED and starts the scheduler, so \
     scheduled jobs follow the primary; when false, events run nowhere.",
);
pub(crate) const NODE_MAP: Param = Param::string("node_map").desc(
    "Node to replication address map",
    "Space-separated node=host[:port] entries naming, for each Pacemaker node, where its \
     server answers over TCP (node names need not resolve in DNS), e.g. \
     node1=10.0.0.1 node2=10.0.0.2:3307. Needed by a promotable clone: replicas connect \
     to the primary's address, and peers are compared by GTID through it.",
);
pub(crate) const PEER_TIMEOUT: Param = Param::integer("peer_timeout", 1, 60).default("2").desc(
    "Peer timeout, seconds",
    "How long the login to one peer and each of its queries may take before that peer \
     counts as unreachable.",
);
pub(crate) const PEER_CONNECT_TIMEOUT: Param =
    Param::integer("peer_connect_timeout", 20, 10000).default("300").desc(
        "Peer TCP connect timeout, milliseconds",
        "How long the TCP connect to one peer may take. A live peer's kernel answers at once, \
     however busy its server is; a powered-off or unplugged peer never answers. A promote \
     asks only the peers Pacemaker reports active and retries a silent one until shortly \
     before its deadline, so a short value costs retries, never a skipped peer.",
    );
pub(crate) const HEARTBEAT_PERIOD: Param =
    Param::integer("heartbeat_period", 100, 60000).default("1000").desc(
        "Replication heartbeat, milliseconds",
        "MASTER_HEARTBEAT_PERIOD of every replica: the primary sends a heartbeat after this \
         long without an event, so a replica can tell a quiet primary from a dead link. \
         Must be below slave_net_timeout.",
    );
pub(crate) const SLAVE_NET_TIMEOUT: Param =
    Param::integer("slave_net_timeout", 2, 3600).default("4").desc(
        "Replica link timeout, seconds",
        "slave_net_timeout of every clone instance: a replica that receives nothing (not even \
         a heartbeat) for this long drops the connection and reconnects, so a silently dead \
         link (no FIN or RST: a firewall drop, a cable out) stops counting as attached in \
         seconds instead of MariaDB's default 60, and the replica's score follows.",
    );
pub(crate) const HUNG_TIMEOUT: Param = Param::integer("hung_timeout", 1, 60).default("5").desc(
    "Hung server timeout, seconds",
    "How long demote and stop wait for the local server to answer SQL. A server that does \
         not answer within this long (hung, or frozen by the kernel) is killed at once with \
         SIGKILL, never resumed: a primary that cannot be made read-only is made harmless by \
         ending it, in seconds instead of the action's timeout.",
);
pub(crate) const STATE_DIR: Param =
    Param::string("state_dir").default("/run/ferroha/mariadb").desc(
        "State directory",
        "Where the agent keeps each instance's role and divergence verdict and the record of \
         the server process it started (cleared on stop), and the promotion score it last \
         published, so that a monitor runs crm_attribute only when the score changes. Belongs \
         on a tmpfs such as /run, wiped at boot like the score itself.",
    );

const PARAMS: &[Param] = &[
    BINARY,
    CONFIG,
    DATADIR,
    SOCKET,
    PID,
    LOG,
    USER,
    GROUP,
    PORT,
    ADDITIONAL_PARAMETERS,
    REPLICATION_USER,
    REPLICATION_PASSWD_FILE,
    REPLICATION_PASSWD,
    TEST_USER,
    TEST_PASSWD_FILE,
    MAX_SLAVE_LAG,
    SEMI_SYNC,
    SEMI_SYNC_TIMEOUT,
    EVENT_SCHEDULER,
    NODE_MAP,
    PEER_TIMEOUT,
    PEER_CONNECT_TIMEOUT,
    HEARTBEAT_PERIOD,
    SLAVE_NET_TIMEOUT,
    HUNG_TIMEOUT,
    STATE_DIR,
];

const ACTIONS: &[ActionSpec] = &[
    ActionSpec::new("start", 120),
    ActionSpec::new("stop", 120),
    ActionSpec::monitor(30, 20),
    ActionSpec::monitor(30, 10).role(MetaRole::Promoted),
    ActionSpec::monitor(30, 21).role(MetaRole::Unpromoted),
    ActionSpec::new("promote", 120),
    ActionSpec::new("demote", 120),
    ActionSpec::new("notify", 90),
    ActionSpec::new("meta-data", 5),
    ActionSpec::new("validate-all", 20),
];

/// The `mariadb` agent.
#[derive(Debug, Default)]
pub struct Mariadb;

impl Agent for Mariadb {
    type Config = Config;
    const INFO: AgentInfo = AgentInfo {
        name: "mariadb",
        version: env!("CARGO_PKG_VERSION"),
        shortdesc: "MariaDB with GTID replication, as a promotable clone",
        longdesc: "Runs mariadbd. As a plain primitive: one writable server. As a promotable \
                   clone (promotable=true notify=true): the promoted instance is the writable \
                   primary, the others are read-only replicas replicating from it by GTID \
                   (MASTER_USE_GTID=slave_pos, gtid_strict_mode). Promotion scores rank \
                   replicas by their GTID position compared per domain; promote hears from \
                   every peer Pacemaker reports active, fails, moving the score, when one is \
                   further ahead, refuses forked histories, and applies everything received \
                   before going writable. An old primary whose history forked is \
                   refused, not rejoined. SQL goes over the native protocol; passwords come from \
                   files and never appear on a command line or in a log.",
        params: PARAMS,
        actions: ACTIONS,
    };

    fn validate(&self, v: &Values<'_>, ctx: &Ctx) -> Result<Config, OcfError> {
        config::validate(v, ctx)
    }

    fn monitor(&self, cfg: &Config, ctx: &Ctx) -> Result<Status, OcfError> {
        let mut st = cfg.state.load();
        let promoted = st.role == Some(ServerRole::Promoted);
        let Some(Running { pid, .. }) = cfg.server().running() else {
            if st.role.is_some() && !ctx.is_probe() {
                return Err(OcfError::new(
                    fail_code(promoted),
                    "mariadbd is not running although it was started",
                ));
            }
            if let Some(e) = peers::foreign_server(cfg, ctx) {
                return Err(e);
            }
            return Ok(Status::NotRunning);
        };
        let mut db = cfg.local_db(ctx).map_err(|e| {
            OcfError::new(
                fail_code(promoted),
                format!("mariadbd (pid {pid}) does not answer SQL: {e}"),
            )
        })?;
        let (read_only, pos) = db.role_and_pos().map_err(|e| {
            OcfError::new(fail_code(promoted), format!("mariadbd (pid {pid}): {e}"))
        })?;
        if !cfg.promotable {
            if read_only {
                return Err(OcfError::generic(
                    "the server is read-only although it runs as a plain primitive",
                ));
            }
            return Ok(Status::Running);
        }
        if !read_only {
            if st.role != Some(ServerRole::Promoted) {
                peers::refuse_second_writable(cfg, ctx, &pos).inspect_err(|_| {
                    cfg.scores.publish(ctx, None);
                })?;
                st.role = Some(ServerRole::Promoted);
                st.read_only_at = None;
                cfg.state.save(&st);
            }
            cfg.scores.publish(ctx, Some(SCORE_PROMOTED));
            attach::check_replicas(cfg, ctx);
            if cfg.semi_sync
                && let Some(why) = semisync::degraded(&mut db)?
            {
                return Err(semisync::degraded_error(why));
            }
            return Ok(Status::Promoted);
        }
        if promoted {
            return Err(OcfError::new(OcfCode::FailedPromoted, "the promoted server is read-only"));
        }
        if st.role.is_none() {
            repl::read_only_now(cfg, &mut db, &mut st)?;
        }
        repl::monitor_replica(cfg, ctx, &mut db, &st, &pos)
    }

    fn start(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        if !Path::new(&cfg.datadir).join("mysql").is_dir() {
            return Err(OcfError::args(format!(
                "parameter 'datadir': {} holds no database (run mariadb-install-db)",
                cfg.datadir
            )));
        }
        if let Some(Running { pid, .. }) = cfg.server().running() {
            log::info!("mariadbd already running (pid {pid})");
            let mut db = cfg.local_db(ctx).context("mariadbd runs but does not answer SQL")?;
            let mut st = cfg.state.load();
            if st.role.is_none() {
                return repl::configure_started(cfg, ctx, &mut db);
            }
            if cfg.promotable && st.role != Some(ServerRole::Unpromoted) {
                // A started clone instance is unpromoted, whatever it was before.
                db.exec("making the server read-only", "SET GLOBAL read_only=ON")
                    .context("start")?;
                repl::read_only_now(cfg, &mut db, &mut st)?;
            }
            return Ok(());
        }
        if let Some(e) = peers::foreign_server(cfg, ctx) {
            return Err(e);
        }
        for p in [&cfg.socket, &cfg.pid, &cfg.log] {
            cfg.ensure_dir(p)?;
        }
        let _ = fs::remove_file(&cfg.pid);
        cfg.state.remove();
        cfg.scores.forget();
        let pid = server::spawn(&cfg.binary, &cfg.server_args())
            .map_err(|e| OcfError::from_io(format_args!("cannot start {}", cfg.binary), e))?;
        let pid = i32::try_from(pid).map_err(|_| OcfError::generic("pid out of range"))?;
        log::info!("started mariadbd (pid {pid})");
        let running = cfg.server().record(pid);
        let mut db = server::wait_for_sql(cfg, ctx, pid, running)?;
        repl::configure_started(cfg, ctx, &mut db)
    }

    fn stop(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        if cfg.promotable {
            cfg.scores.forget();
            cfg.scores.publish(ctx, None);
        }
        if let Some(running) = cfg.server().running() {
            if let Err(why) = server::answers(cfg, ctx) {
                server::kill_hung(cfg, ctx, running, "stop", &why)?;
            } else {
                cfg.server().stop(running, &ctx.deadline)?;
            }
        }
        cfg.server().forget();
        cfg.state.remove();
        attach::forget(cfg);
        peers::forget_required(cfg);
        Ok(())
    }

    fn stop_invalid(&self, v: &Values<'_>, ctx: &Ctx, err: OcfError) -> Result<(), OcfError> {
        let record = StateFile::new(Path::new(v.str(&STATE_DIR)), &ctx.instance).sibling("pid");
        let server = Server { pid_file: v.str(&PID), datadir: v.str(&DATADIR), record: &record };
        match server.running() {
            None => {
                log::warn!(
                    "stop with an invalid configuration ({}): no server of ours runs",
                    err.reason()
                );
                Ok(())
            }
            Some(running) => {
                log::warn!(
                    "stop with an invalid configuration ({}): stopping pid {}",
                    err.reason(),
                    running.pid
                );
                server.stop(running, &ctx.deadline)
            }
        }
    }

    fn promote(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        let mut db = role_change_session(cfg, ctx, "promote")?;
        let mut st = cfg.state.load();
        let (read_only, pos) = db.role_and_pos().context("promote")?;
        if !read_only {
            if st.role != Some(ServerRole::Promoted) {
                peers::refuse_second_writable(cfg, ctx, &pos)?;
            }
            st.role = Some(ServerRole::Promoted);
            st.read_only_at = None;
            cfg.state.save(&st);
            cfg.scores.publish(ctx, Some(SCORE_PROMOTED));
            return Ok(());
        }
        if let Some(why) = &st.diverged {
            return Err(OcfError::generic(format!("cannot promote: {why}")));
        }
        let received = repl::drain_relay_log(cfg, ctx, &mut db)?;
        let (_, mine) = db.role_and_pos().context("promote")?;
        repl::check_peers(cfg, ctx, &mut db, &mine)?;
        repl::stop_keeping_received(&mut db, &received)?;
        db.exec("forgetting the old primary", "RESET SLAVE ALL").context("promote")?;
        if cfg.semi_sync {
            db.exec("enabling semi-sync primary", &semisync::enable_sql(cfg)).context("promote")?;
        }
        db.exec("making the server writable", "SET GLOBAL read_only=OFF").context("promote")?;
        events::start_on_primary(cfg, &mut db)?;
        log::info!("promoted at GTID position {mine}");
        peers::forget_required(cfg);
        st.role = Some(ServerRole::Promoted);
        st.read_only_at = None;
        cfg.scores.publish(ctx, Some(SCORE_PROMOTED));
        cfg.state.save(&st);
        Ok(())
    }

    fn demote(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        if !cfg.promotable {
            return Err(OcfError::unimplemented("demote (not a promotable clone)"));
        }
        let Some(running) = cfg.server().running() else {
            return Err(OcfError::generic("cannot demote: mariadbd is not running"));
        };
        let mut db = match server::answers(cfg, ctx) {
            Ok(db) => db,
            Err(why) => {
                cfg.scores.publish(ctx, None);
                server::kill_hung(cfg, ctx, running, "demote", &why)?;
                return Err(OcfError::generic(format!(
                    "demote: mariadbd (pid {}) did not answer SQL ({why}); killed it with \
                     SIGKILL, since a server that cannot be made read-only must not run on",
                    running.pid
                )));
            }
        };
        semisync::end_writes(&mut db, &ctx.deadline)?;
        events::stop_scheduler(&mut db, "demote")?;
        if cfg.semi_sync {
            db.exec(
                "disabling semi-sync primary",
                "SET GLOBAL rpl_semi_sync_master_enabled=OFF, rpl_semi_sync_slave_enabled=ON",
            )
            .context("demote")?;
        }
        let mut st = cfg.state.load();
        repl::read_only_now(cfg, &mut db, &mut st)?;
        repl::refresh_replica_score(cfg, ctx, &mut db)
    }

    fn notify(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        let Some(n) = &ctx.notify else { return Ok(()) };
        if !cfg.promotable || cfg.server().running().is_none() {
            return Ok(());
        }
        let target = match (n.kind, n.op) {
            (NotifyType::Pre, NotifyOp::Promote) => {
                peers::keep_required(cfg, ctx);
                None
            }
            (NotifyType::Post, NotifyOp::Promote) => {
                // The transition the kept set was for is over.
                peers::forget_required(cfg);
                n.promote.first().map(|p| p.uname.clone()).filter(|u| !u.is_empty())
            }
            (NotifyType::Post, NotifyOp::Start) => {
                peers::Transition::from_env(&ctx.env).and_then(|t| t.primary(cfg.node.as_deref()))
            }
            _ => None,
        };
        let Some(primary) = target else {
            return Ok(());
        };
        if Some(primary.as_str()) == cfg.node.as_deref() {
            return Ok(());
        }
        let mut db = cfg.local_db(ctx).context("notify")?;
        let (read_only, _) = db.role_and_pos().context("notify")?;
        if !read_only {
            return Err(OcfError::generic(format!(
                "{primary} was promoted but this server is writable; not replicating"
            )));
        }
        if n.op == NotifyOp::Start
            && let Some(s) = db.slave_status().context("notify")?
            && (s.io_running || s.io_connecting)
        {
            return Ok(());
        }
        repl::replicate_from(cfg, ctx, &mut db, &primary)?;
        if n.op == NotifyOp::Promote {
            // A failover waits for this notification before it moves the VIP; the next monitor
            // ranks this replica against its peers (a dead old primary costs a connect timeout).
            return Ok(());
        }
        repl::refresh_replica_score(cfg, ctx, &mut db)
    }
}

/// promote and demote need a promotable clone whose server runs: its local session.
fn role_change_session(cfg: &Config, ctx: &Ctx, action: &str) -> Result<Db, OcfError> {
    if !cfg.promotable {
        return Err(OcfError::unimplemented(&format!("{action} (not a promotable clone)")));
    }
    if cfg.server().running().is_none() {
        return Err(OcfError::generic(format!("cannot {action}: mariadbd is not running")));
    }
    cfg.local_db(ctx).context(action)
}

fn fail_code(promoted: bool) -> OcfCode {
    if promoted { OcfCode::FailedPromoted } else { OcfCode::ErrGeneric }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn man_page_lists_every_parameter() {
        let page = ocf::doc::man_page(&Mariadb::INFO);
        for p in Mariadb::INFO.params {
            assert!(page.contains(p.name), "{}", p.name);
        }
    }

    #[test]
    fn docs_match_params() {
        let md = include_str!("../../../docs/agents/mariadb.md");
        if let Err(problems) = ocf::doc::check_docs(&Mariadb::INFO, md) {
            panic!("docs/agents/mariadb.md is out of sync with PARAMS:\n{problems}");
        }
    }
}
