//! `validate`: the parameters, checked and typed into a [`Config`]. The checks that need nothing
//! but the parameters and metas come first (and are unit-tested); then what this node must have
//! (the binary, the data directory, the option file, the user and group, the password files).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ocf::score::Publisher;
use ocf::{Ctx, OcfError, Param, Values};

use crate::db::{Db, DbError, Login};
use crate::server::Server;
use crate::settings::{self, Addr};
use crate::state::StateFile;
use crate::{
    ADDITIONAL_PARAMETERS, BINARY, CONFIG, DATADIR, EVENT_SCHEDULER, GROUP, HEARTBEAT_PERIOD,
    HUNG_TIMEOUT, LOG, MAX_SLAVE_LAG, NODE_MAP, PEER_CONNECT_TIMEOUT, PEER_TIMEOUT, PID, PORT,
    REPLICATION_PASSWD, REPLICATION_PASSWD_FILE, REPLICATION_USER, SEMI_SYNC, SEMI_SYNC_TIMEOUT,
    SLAVE_NET_TIMEOUT, SOCKET, STATE_DIR, TEST_PASSWD_FILE, TEST_USER, USER,
};

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// mariadbd.
    pub(crate) binary: String,
    /// Option file, `None` for --no-defaults.
    pub(crate) config: Option<String>,
    /// Data directory.
    pub(crate) datadir: String,
    /// Socket.
    pub(crate) socket: String,
    /// Pid file.
    pub(crate) pid: String,
    /// Error log.
    pub(crate) log: String,
    /// Run-as user.
    pub(crate) user: String,
    /// Run-as group.
    pub(crate) group: String,
    /// Its uid.
    pub(crate) uid: u32,
    /// Its gid.
    pub(crate) gid: u32,
    /// TCP port.
    pub(crate) port: u16,
    /// Extra server arguments.
    pub(crate) extra: Vec<String>,
    /// Replication login (password `None` when none is configured).
    pub(crate) repl: Login,
    /// Local login.
    pub(crate) local: Login,
    /// Maximum lag, seconds.
    pub(crate) max_lag: u64,
    /// Semi-sync on.
    pub(crate) semi_sync: bool,
    /// `rpl_semi_sync_master_timeout` (zero: never fall back).
    pub(crate) semi_sync_timeout: Duration,
    /// Run the event scheduler on the primary.
    pub(crate) event_scheduler: bool,
    /// Node → address.
    pub(crate) nodes: BTreeMap<String, Addr>,
    /// Peer timeout (login and queries).
    pub(crate) peer_timeout: Duration,
    /// Peer TCP connect timeout.
    pub(crate) peer_connect_timeout: Duration,
    /// How long demote and stop wait for SQL before killing a hung server.
    pub(crate) hung_timeout: Duration,
    /// Replication heartbeat period.
    pub(crate) heartbeat: Duration,
    /// `slave_net_timeout`.
    pub(crate) net_timeout: Duration,
    /// Running as a promotable clone.
    pub(crate) promotable: bool,
    /// This node.
    pub(crate) node: Option<String>,
    /// State file.
    pub(crate) state: StateFile,
    /// The record of the server process this agent started.
    pub(crate) record: PathBuf,
    /// Publishes this instance's promotion score (only when it changes).
    pub(crate) scores: Publisher,
}

/// Check the parameters and turn them into a [`Config`].
pub(crate) fn validate(v: &Values<'_>, ctx: &Ctx) -> Result<Config, OcfError> {
    // What the parameters and metas say, without touching the system.
    let port: u16 = v.num(&PORT);
    let nodes = node_map(v.opt_str(&NODE_MAP).unwrap_or(""), port, ctx.node.as_deref())?;
    let promotable = ctx.clone.promotable;
    if promotable
        && !ctx.clone.notify
        && matches!(ctx.action, ocf::Action::Start | ocf::Action::ValidateAll)
    {
        return Err(OcfError::configured(
            "a promotable mariadb clone needs the meta attribute notify=true",
        ));
    }
    let extra = v.words(&ADDITIONAL_PARAMETERS)?;
    let config = v.opt_str(&CONFIG).filter(|c| *c != "none").map(str::to_owned);
    // What this node must have.
    let binary = executable(v.str(&BINARY))?;
    let datadir = v.str(&DATADIR).to_owned();
    if datadir.is_empty() || !Path::new(&datadir).is_dir() {
        return Err(OcfError::args(format!("parameter 'datadir': {datadir} is not a directory")));
    }
    if let Some(c) = &config
        && fs::File::open(c).is_err()
    {
        return Err(OcfError::args(format!("parameter 'config': {c} cannot be read")));
    }
    let user = v.str(&USER).to_owned();
    let uid = ocf::accounts::user(&user).ok().flatten().map(|e| e.uid).ok_or_else(|| {
        OcfError::args(format!("parameter 'user': no user '{user}' in /etc/passwd"))
    })?;
    let group = v.str(&GROUP).to_owned();
    let gid = ocf::accounts::group(&group).ok().flatten().ok_or_else(|| {
        OcfError::args(format!("parameter 'group': no group '{group}' in /etc/group"))
    })?;
    let mut repl_pass = secret(v, &REPLICATION_PASSWD_FILE)?;
    if repl_pass.is_none()
        && let Some(p) = v.opt_str(&REPLICATION_PASSWD)
    {
        log::warn!("parameter 'replication_passwd' is deprecated: use replication_passwd_file");
        repl_pass = Some(p.to_owned());
    }
    if promotable && !nodes.is_empty() && repl_pass.is_none() {
        return Err(OcfError::configured(
            "parameter 'replication_passwd_file' is required for a promotable clone with a node_map",
        ));
    }
    let heartbeat = v.millis(&HEARTBEAT_PERIOD);
    let net_timeout = v.secs(&SLAVE_NET_TIMEOUT);
    if heartbeat >= net_timeout {
        return Err(OcfError::configured(format!(
            "parameter 'heartbeat_period' ({} ms) must be below slave_net_timeout ({} s)",
            heartbeat.as_millis(),
            net_timeout.as_secs()
        )));
    }
    let state_dir = Path::new(v.str(&STATE_DIR));
    let state = StateFile::new(state_dir, &ctx.instance);
    Ok(Config {
        binary,
        config,
        datadir,
        socket: v.str(&SOCKET).to_owned(),
        pid: v.str(&PID).to_owned(),
        log: v.str(&LOG).to_owned(),
        user,
        group,
        uid,
        gid,
        port,
        extra,
        repl: Login { user: v.str(&REPLICATION_USER).to_owned(), pass: repl_pass },
        local: Login { user: v.str(&TEST_USER).to_owned(), pass: secret(v, &TEST_PASSWD_FILE)? },
        max_lag: v.num(&MAX_SLAVE_LAG),
        semi_sync: v.flag(&SEMI_SYNC),
        semi_sync_timeout: v.secs(&SEMI_SYNC_TIMEOUT),
        event_scheduler: v.flag(&EVENT_SCHEDULER),
        nodes,
        peer_timeout: v.secs(&PEER_TIMEOUT),
        peer_connect_timeout: v.millis(&PEER_CONNECT_TIMEOUT),
        heartbeat,
        net_timeout,
        hung_timeout: v.secs(&HUNG_TIMEOUT),
        promotable,
        node: ctx.node.clone(),
        record: state.sibling("pid"),
        scores: Publisher::cached(state_dir, &ctx.instance),
        state,
    })
}

/// The node map, which must name this node when it names any.
fn node_map(text: &str, port: u16, node: Option<&str>) -> Result<BTreeMap<String, Addr>, OcfError> {
    let nodes = settings::parse_node_map(text, port)
        .map_err(|e| OcfError::configured(format!("parameter 'node_map': {e}")))?;
    if let Some(n) = node
        && !nodes.is_empty()
        && !nodes.contains_key(n)
    {
        return Err(OcfError::args(format!(
            "parameter 'node_map' has no entry for this node '{n}'"
        )));
    }
    Ok(nodes)
}

fn executable(binary: &str) -> Result<String, OcfError> {
    let meta = fs::metadata(binary).map_err(|e| {
        OcfError::installed(format!("parameter 'binary': {binary} is not usable ({e})"))
    })?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return Err(OcfError::installed(format!(
            "parameter 'binary': {binary} is not an executable file"
        )));
    }
    Ok(binary.to_owned())
}

fn secret(values: &Values<'_>, p: &Param) -> Result<Option<String>, OcfError> {
    let Some(path) = values.opt_str(p) else { return Ok(None) };
    // Every way a secret file can be unusable is a fact of this node: OCF_ERR_ARGS.
    settings::read_secret(Path::new(path))
        .map(Some)
        .map_err(|e| OcfError::args(format!("parameter '{}': {path} {e}", p.name)))
}

impl Config {
    pub(crate) fn server(&self) -> Server<'_> {
        Server { pid_file: &self.pid, datadir: &self.datadir, record: &self.record }
    }

    /// Peers: every node of the map except this one.
    pub(crate) fn peers(&self) -> impl Iterator<Item = (&String, &Addr)> {
        self.nodes.iter().filter(|(n, _)| Some(n.as_str()) != self.node.as_deref())
    }

    pub(crate) fn local_db(&self, ctx: &Ctx) -> Result<Db, DbError> {
        Db::local(&self.socket, &self.local, ctx.deadline.remaining())
    }

    pub(crate) fn peer_db(&self, addr: &Addr, ctx: &Ctx) -> Result<Db, DbError> {
        let left = ctx.deadline.remaining();
        Db::peer(addr, &self.repl, self.peer_connect_timeout.min(left), self.peer_timeout.min(left))
    }

    pub(crate) fn server_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        match &self.config {
            Some(c) => a.push(format!("--defaults-file={c}")),
            None => a.push("--no-defaults".into()),
        }
        a.extend([
            format!("--datadir={}", self.datadir),
            format!("--pid-file={}", self.pid),
            format!("--socket={}", self.socket),
            format!("--port={}", self.port),
            format!("--log-error={}", self.log),
            format!("--user={}", self.user),
            "--gtid-strict-mode=ON".into(),
        ]);
        if self.promotable {
            a.extend([
                "--read-only=ON".into(),
                "--skip-slave-start".into(),
                "--log-slave-updates=ON".into(),
                format!("--slave-net-timeout={}", self.net_timeout.as_secs()),
                "--event-scheduler=OFF".into(),
            ]);
        }
        if self.promotable && self.semi_sync {
            // A clone instance always starts as a replica. With this role, crash recovery of a
            // former semi-sync primary (power off, SIGKILL) rolls back the transactions no replica
            // acknowledged, which no client saw committed, instead of committing them: the node
            // comes back a prefix of the new primary's history, not diverged (MDEV-21117).
            a.extend(["--init-rpl-role=SLAVE".into(), "--rpl-semi-sync-slave-enabled=ON".into()]);
            // On its way out a semi-sync IO thread connects to the primary to kill its dump
            // thread; towards a dead primary that connect waits this long (default 5 s) in
            // every STOP SLAVE and shutdown that races it (Db::stop_replication).
            a.push("--rpl-semi-sync-slave-kill-conn-timeout=1".into());
        }
        a.extend(self.extra.iter().cloned());
        a
    }

    /// Create the directory of `path` for the server's user (socket, pid file, error log).
    pub(crate) fn ensure_dir(&self, path: &str) -> Result<(), OcfError> {
        let Some(dir) = Path::new(path).parent() else { return Ok(()) };
        if dir.as_os_str().is_empty() || dir.is_dir() {
            return Ok(());
        }
        fs::create_dir_all(dir)
            .map_err(|e| OcfError::from_io(format_args!("cannot create {}", dir.display()), e))?;
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o755));
        if let Err(e) = std::os::unix::fs::chown(dir, Some(self.uid), Some(self.gid)) {
            log::warn!("cannot give {} to {}:{}: {e}", dir.display(), self.user, self.group);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::OcfCode;

    #[test]
    fn the_node_map_must_name_this_node() {
        let map = "n1=127.0.0.1:3307 n2=127.0.0.1:3308";
        assert_eq!(node_map(map, 3306, Some("n2")).unwrap().len(), 2);
        assert!(node_map(map, 3306, None).is_ok(), "outside a cluster");
        assert!(node_map("", 3306, Some("n9")).unwrap().is_empty(), "no map, no peers");
        let e = node_map(map, 3306, Some("n9")).unwrap_err();
        assert_eq!(e.code(), OcfCode::ErrArgs);
        assert_eq!(e.reason(), "parameter 'node_map' has no entry for this node 'n9'");
        let e = node_map("n1", 3306, None).unwrap_err();
        assert_eq!(e.code(), OcfCode::ErrConfigured);
        assert!(e.reason().starts_with("parameter 'node_map': "), "{}", e.reason());
    }
}
