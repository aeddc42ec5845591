//! `ocf:ferroha:restapi` — any HTTP daemon under Pacemaker.
//!
//! What `ocf:heartbeat:anything` plus `http-mon.sh` do, without their gaps:
//!
//! - **start** spawns the daemon detached (own session, as `user`, in `workdir`, with a clean
//!   environment plus `envfile`, output appended to `logfile`), writes the pid file with the
//!   process start time, and returns only once `health_url` answers `expected_status` (and
//!   contains `body_pattern`), bounded by the start timeout; on timeout or early exit it stops
//!   what it started and fails with a reason;
//! - **monitor** checks the process is alive and really ours (pid **and** start time, so a reused
//!   pid is not taken for the daemon), then GETs `health_url` in-process (no curl, nothing on a
//!   command line) with `http_timeout`; `deep_url` too at `OCF_CHECK_LEVEL` ≥ 10. 7 only when the
//!   process is definitely gone (a stale pid file counts as gone); 1 with a reason when alive but
//!   unhealthy or hung;
//! - **stop** sends SIGCONT+SIGTERM to the daemon's process group, waits `stop_timeout` (or what
//!   the stop timeout leaves), then SIGKILL, verifies it is gone and removes the pid file.

pub mod http;
pub mod process;
pub mod settings;

use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::sys::signal::Signal;
use ocf::{ActionSpec, Agent, AgentInfo, Ctx, Deadline, OcfError, Param, Status, Values};

use http::Expect;
use process::{Found, Launch, RunAs};
use settings::HttpUrl;

/// Parameter names.
pub mod param {
    /// Daemon executable.
    pub const BINARY: &str = "binary";
    /// Its arguments.
    pub const ARGUMENTS: &str = "arguments";
    /// User to run as.
    pub const USER: &str = "user";
    /// Working directory.
    pub const WORKDIR: &str = "workdir";
    /// Pid file.
    pub const PIDFILE: &str = "pidfile";
    /// stdout/stderr.
    pub const LOGFILE: &str = "logfile";
    /// Environment file.
    pub const ENVFILE: &str = "envfile";
    /// Health URL.
    pub const HEALTH_URL: &str = "health_url";
    /// Expected status.
    pub const EXPECTED_STATUS: &str = "expected_status";
    /// Body substring.
    pub const BODY_PATTERN: &str = "body_pattern";
    /// Deeper check URL.
    pub const DEEP_URL: &str = "deep_url";
    /// HTTP timeout, seconds.
    pub const HTTP_TIMEOUT: &str = "http_timeout";
    /// Seconds between SIGTERM and SIGKILL.
    pub const STOP_TIMEOUT: &str = "stop_timeout";
}

const PARAMS: &[Param] = &[
    Param::string(param::BINARY).required().desc(
        "Daemon executable",
        "Absolute path of the daemon to run, e.g. /usr/bin/ferroha-api. It must stay in the \
         foreground (not fork into the background itself): the agent tracks the process it starts.",
    ),
    Param::string(param::ARGUMENTS).desc(
        "Arguments",
        "Arguments for the daemon, split into words like a shell would for plain words, 'single' \
         and \"double\" quotes and backslash escapes, but never run through a shell: no variables, \
         globs or substitutions. Keep secrets out of it (argv is world-readable in /proc): use a \
         file the daemon reads, or envfile.",
    ),
    Param::string(param::USER).desc(
        "User to run as",
        "Run the daemon as this user, with its primary and supplementary groups. Empty: as the \
         agent's user (root under Pacemaker).",
    ),
    Param::string(param::WORKDIR).default("/").desc(
        "Working directory",
        "Absolute directory the daemon starts in.",
    ),
    Param::string(param::PIDFILE).unique().desc(
        "Pid file",
        "Where the agent records the daemon's pid and start time. Empty: \
         /run/ferroha-restapi-<instance>.pid. Written by the agent, not by the daemon.",
    ),
    Param::string(param::LOGFILE).default("/dev/null").desc(
        "Log file for stdout and stderr",
        "The daemon's standard output and error are appended here (created with mode 0640).",
    ),
    Param::string(param::ENVFILE).desc(
        "Environment file",
        "KEY=VALUE lines (optional export prefix, # comments, values optionally quoted) added to \
         the daemon's environment, which otherwise holds only PATH, HOME, USER, LOGNAME and LANG=C. \
         Read by the agent; never passed through a shell or a command line.",
    ),
    Param::string(param::HEALTH_URL).required().desc(
        "Health URL",
        "http:// URL that answers expected_status when the daemon is ready, e.g. \
         http://127.0.0.1:8080/ready. Start waits for it; every monitor checks it. No https, no \
         credentials in the URL.",
    ),
    Param::integer(param::EXPECTED_STATUS, 100, 599).default("200").desc(
        "Expected HTTP status",
        "The status health_url (and deep_url) must answer. Redirects are not followed.",
    ),
    Param::string(param::BODY_PATTERN).desc(
        "Text the body must contain",
        "When set, the health (and deep) response body must contain this plain substring.",
    ),
    Param::string(param::DEEP_URL).desc(
        "Deeper check URL (OCF_CHECK_LEVEL 10)",
        "http:// URL also checked by monitors with OCF_CHECK_LEVEL 10 or more (e.g. one that \
         reaches the database), with the same expected status and pattern.",
    ),
    Param::integer(param::HTTP_TIMEOUT, 1, 300).default("5").desc(
        "HTTP timeout, seconds",
        "How long one health request may take before the daemon counts as hung. Always cut to \
         what the operation timeout leaves.",
    ),
    Param::integer(param::STOP_TIMEOUT, 1, 3600).desc(
        "Seconds between SIGTERM and SIGKILL",
        "How long stop waits after SIGTERM before SIGKILL. Empty: what the stop timeout leaves, \
         minus a reserve for SIGKILL.",
    ),
];

const ACTIONS: &[ActionSpec] = &[
    ActionSpec::new("start", 60),
    ActionSpec::new("stop", 30),
    ActionSpec::monitor(20, 10),
    ActionSpec { depth: Some(10), interval_s: Some(60), ..ActionSpec::new("monitor", 20) },
    ActionSpec::new("meta-data", 5),
    ActionSpec::new("validate-all", 20),
];

/// How long start polls between two health checks.
const POLL: Duration = Duration::from_millis(200);

/// Most of the start timeout kept back to stop a daemon that never became healthy.
const CLEANUP: Duration = Duration::from_secs(3);

/// The `restapi` agent.
#[derive(Debug, Default)]
pub struct RestApi;

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Daemon executable.
    pub binary: PathBuf,
    /// Arguments.
    pub args: Vec<String>,
    /// Run as.
    pub user: Option<RunAs>,
    /// Working directory.
    pub workdir: PathBuf,
    /// Pid file.
    pub pidfile: PathBuf,
    /// Log file.
    pub logfile: PathBuf,
    /// Environment file (path, parsed variables).
    pub envfile: Option<(PathBuf, Vec<(String, String)>)>,
    /// Health URL.
    pub health: HttpUrl,
    /// Deep URL.
    pub deep: Option<HttpUrl>,
    /// Expectation.
    pub expect: Expect,
    /// HTTP timeout.
    pub http_timeout: Duration,
    /// TERM → KILL wait.
    pub stop_timeout: Option<Duration>,
}

fn absolute(name: &str, v: &str) -> Result<PathBuf, OcfError> {
    let p = PathBuf::from(v);
    if p.is_absolute() {
        Ok(p)
    } else {
        Err(OcfError::configured(format!("parameter '{name}' must be an absolute path, not '{v}'")))
    }
}

/// The default pid file for an instance (a clone's `:N` kept, `/` replaced).
pub fn default_pidfile(instance: &str) -> PathBuf {
    PathBuf::from(format!("/run/ferroha-restapi-{}.pid", instance.replace('/', "_")))
}

fn pidfile_from(env: &ocf::OcfEnv, instance: &str) -> Result<PathBuf, OcfError> {
    match env.param(param::PIDFILE) {
        Some(v) => absolute(param::PIDFILE, v),
        None => Ok(default_pidfile(instance)),
    }
}

/// Resolve `user` from /etc/passwd and /etc/group (not NSS: see [`ocf::accounts`]).
fn lookup_user(name: &str) -> Result<RunAs, OcfError> {
    let read = |path: &str| {
        std::fs::read_to_string(path).map_err(|e| {
            OcfError::generic(format!("cannot read {path} to look up user '{name}': {e}"))
        })
    };
    let entry = ocf::accounts::passwd_entry(&read("/etc/passwd")?, name).ok_or_else(|| {
        OcfError::args(format!(
            "parameter 'user': user '{name}' does not exist on this node (in /etc/passwd)"
        ))
    })?;
    let groups = ocf::accounts::group_list(&read("/etc/group")?, name, entry.gid);
    Ok(RunAs {
        name: name.to_owned(),
        uid: nix::unistd::Uid::from_raw(entry.uid),
        gid: nix::unistd::Gid::from_raw(entry.gid),
        groups: groups.into_iter().map(nix::unistd::Gid::from_raw).collect(),
        home: entry.home,
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

impl Config {
    /// The daemon's environment: a minimal base, then the environment file.
    fn environment(&self) -> Vec<(String, String)> {
        let (user, home) = match &self.user {
            Some(u) => (u.name.clone(), u.home.clone()),
            None => ("root".to_owned(), "/root".to_owned()),
        };
        let mut env = vec![
            (
                "PATH".to_owned(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
            ),
            ("HOME".to_owned(), home),
            ("USER".to_owned(), user.clone()),
            ("LOGNAME".to_owned(), user),
            ("LANG".to_owned(), "C".to_owned()),
        ];
        for (k, v) in self.envfile.iter().flat_map(|(_, vars)| vars) {
            env.retain(|(ek, _)| ek != k);
            env.push((k.clone(), v.clone()));
        }
        env
    }

    /// One request's timeout: `http_timeout`, cut to what `deadline` leaves.
    fn check_timeout(&self, deadline: &Deadline) -> Duration {
        self.http_timeout.min(deadline.remaining())
    }
}

impl RestApi {
    /// Health (and, at check level ≥ 10, deep) check of a running daemon; the error is
    /// `<url>: <why>`.
    fn probe(&self, cfg: &Config, deadline: &Deadline, deep: bool) -> Result<(), String> {
        let urls = std::iter::once(&cfg.health).chain(cfg.deep.as_ref().filter(|_| deep));
        for url in urls {
            if let Some(why) = http::check(url, &cfg.expect, cfg.check_timeout(deadline)).problem()
            {
                return Err(format!("{}: {why}", url.0));
            }
        }
        Ok(())
    }

    /// Wait until the health URL answers, the process exits, or `deadline` passes.
    fn wait_healthy(
        &self,
        cfg: &Config,
        deadline: &Deadline,
        pid: i32,
        start: u64,
        mut child: Option<&mut std::process::Child>,
    ) -> Result<(), OcfError> {
        loop {
            if let Some(c) = child.as_deref_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    return Err(OcfError::generic(format!(
                        "{} exited during start ({status}); see {}",
                        cfg.binary.display(),
                        cfg.logfile.display()
                    )));
                }
            } else if !process::alive(pid, start) {
                return Err(OcfError::generic(format!(
                    "process {pid} exited during start; see {}",
                    cfg.logfile.display()
                )));
            }
            let Err(last) = self.probe(cfg, deadline, false) else {
                return Ok(());
            };
            if deadline.remaining() < POLL {
                return Err(OcfError::generic(format!(
                    "{} did not become healthy within the start timeout ({last})",
                    cfg.binary.display()
                )));
            }
            deadline.sleep(POLL);
        }
    }

    /// 7, unless the daemon runs without a valid pid file (then it is not definitely gone).
    fn not_running(&self, cfg: &Config) -> Result<Status, OcfError> {
        match process::orphans(&cfg.binary, &cfg.args).first() {
            Some(pid) => Err(OcfError::generic(format!(
                "{} runs as process {pid} without a valid pid file {}",
                cfg.binary.display(),
                cfg.pidfile.display()
            ))),
            None => Ok(Status::NotRunning),
        }
    }

    /// TERM, bounded wait, KILL, verify gone. Returns an error only when the process survives.
    fn terminate(
        &self,
        pid: i32,
        start: u64,
        term_wait: Duration,
        ctx: &Ctx,
    ) -> Result<(), OcfError> {
        // A stopped (SIGSTOP) process cannot act on SIGTERM until continued.
        let _ = process::signal_group(pid, Signal::SIGCONT);
        if let Err(e) = process::signal_group(pid, Signal::SIGTERM) {
            log::warn!("SIGTERM to process group {pid} failed: {e}");
        }
        let reserve = (ctx.deadline.remaining() / 4).min(Duration::from_secs(2));
        let term_deadline =
            ctx.deadline.sub(term_wait.min(ctx.deadline.remaining().saturating_sub(reserve)));
        if process::wait_gone(pid, start, &term_deadline) {
            log::info!(
                "process {pid} exited after SIGTERM in {} ms",
                term_deadline.elapsed().as_millis()
            );
            return Ok(());
        }
        log::warn!(
            "process {pid} still there {} ms after SIGTERM; sending SIGKILL",
            term_deadline.elapsed().as_millis()
        );
        process::signal_group(pid, Signal::SIGKILL)
            .map_err(|e| OcfError::generic(format!("cannot SIGKILL process {pid}: {e}")))?;
        // Even with the deadline spent, give the kernel a moment to reap a killed process.
        let kill_deadline = if ctx.deadline.remaining() > Duration::from_millis(500) {
            ctx.deadline
        } else {
            ocf::Deadline::after(Duration::from_millis(500))
        };
        if process::wait_gone(pid, start, &kill_deadline) {
            return Ok(());
        }
        Err(OcfError::generic(format!(
            "process {pid} is still there after SIGKILL (uninterruptible sleep?)"
        )))
    }

    /// Stop whatever the pid file names (`binary` identifies hand-written pid files), then any
    /// process running `binary` with exactly `args` that lost its pid file.
    fn stop_pidfile(
        &self,
        pidfile: &Path,
        binary: Option<&Path>,
        args: Option<&[String]>,
        stop_timeout: Option<Duration>,
        ctx: &Ctx,
    ) -> Result<(), OcfError> {
        let wait = stop_timeout.unwrap_or(Duration::MAX);
        match process::find(pidfile, binary) {
            Found::NoPidfile => {}
            Found::Unreadable(why) => {
                log::warn!("pid file {} is unusable ({why}); removing it", pidfile.display());
            }
            Found::Gone(pid) => {
                log::info!("process {pid} from {} is already gone", pidfile.display());
            }
            Found::NotOurs(pid, why) => {
                log::warn!("pid file {} is stale ({why}); not signalling {pid}", pidfile.display());
            }
            Found::Ours(pid, _) => {
                let start = process::stat(pid).map(|s| s.start).unwrap_or_default();
                self.terminate(pid, start, wait, ctx)?;
                log::info!("stopped process {pid}");
            }
        }
        if let (Some(binary), Some(args)) = (binary, args) {
            for pid in process::orphans(binary, args) {
                log::warn!(
                    "{} runs as process {pid} without a valid pid file; stopping it",
                    binary.display()
                );
                let start = process::stat(pid).map(|s| s.start).unwrap_or_default();
                self.terminate(pid, start, wait, ctx)?;
            }
        }
        process::remove_pidfile(pidfile).map_err(|e| {
            OcfError::generic(format!("cannot remove pid file {}: {e}", pidfile.display()))
        })
    }
}

impl Agent for RestApi {
    type Config = Config;
    const INFO: AgentInfo = AgentInfo {
        name: "restapi",
        version: env!("CARGO_PKG_VERSION"),
        shortdesc: "HTTP daemon with health checks (e.g. ferroha-api)",
        longdesc: "Runs any HTTP daemon under Pacemaker, as ocf:heartbeat:anything with an \
http-mon.sh check does, without their gaps. start spawns the daemon detached (own session, as \
user, with a clean environment plus envfile) and returns only once health_url answers \
expected_status, within the start timeout; a daemon that exits or never becomes healthy is \
stopped again and start fails with a reason. monitor checks that the process is alive and really \
the one started (pid and start time, so a reused pid is never mistaken for it), then requests \
health_url in-process with http_timeout (deep_url as well at OCF_CHECK_LEVEL 10): 0 healthy, 7 \
only when the process is gone (a stale pid file is cleaned up by stop and start), 1 with a reason \
when it is alive but unhealthy or hung. stop sends SIGTERM to the process group, waits at most \
stop_timeout, sends SIGKILL, verifies the process is gone and removes the pid file.",
        params: PARAMS,
        actions: ACTIONS,
    };

    fn validate(&self, v: &Values<'_>, ctx: &Ctx) -> Result<Config, OcfError> {
        let full = matches!(ctx.action, ocf::Action::Start | ocf::Action::ValidateAll);
        let binary = absolute(param::BINARY, v.str(param::BINARY).unwrap_or_default())?;
        let args = settings::split_args(v.str(param::ARGUMENTS).unwrap_or(""))
            .map_err(|e| OcfError::configured(format!("parameter 'arguments': {e}")))?;
        let workdir = absolute(param::WORKDIR, v.str(param::WORKDIR).unwrap_or("/"))?;
        let pidfile = pidfile_from(&ctx.env, &ctx.instance)?;
        let logfile = absolute(param::LOGFILE, v.str(param::LOGFILE).unwrap_or("/dev/null"))?;
        let url = |name: &str| -> Result<Option<HttpUrl>, OcfError> {
            v.str(name)
                .map(|s| {
                    settings::parse_url(s)
                        .map_err(|e| OcfError::configured(format!("parameter '{name}': {e}")))
                })
                .transpose()
        };
        let health = url(param::HEALTH_URL)?
            .ok_or_else(|| OcfError::configured("required parameter 'health_url' is not set"))?;
        let deep = url(param::DEEP_URL)?;
        let status = v.int(param::EXPECTED_STATUS).unwrap_or(200);
        let expect = Expect {
            status: u16::try_from(status)
                .map_err(|_| OcfError::configured("parameter 'expected_status' is out of range"))?,
            pattern: v.str(param::BODY_PATTERN).map(str::to_owned),
        };
        let secs =
            |name: &str| v.int(name).and_then(|n| u64::try_from(n).ok()).map(Duration::from_secs);
        let http_timeout = secs(param::HTTP_TIMEOUT).unwrap_or(Duration::from_secs(5));
        let stop_timeout = secs(param::STOP_TIMEOUT);
        // Node-local checks only where they matter: a monitor or stop must work (and find the
        // process) even if, say, the binary was removed by an upgrade meanwhile.
        let mut user = None;
        let mut envfile = None;
        if full {
            if !is_executable(&binary) {
                return Err(OcfError::installed(format!(
                    "parameter 'binary': {} is not an executable file on this node",
                    binary.display()
                )));
            }
            if !workdir.is_dir() {
                return Err(OcfError::args(format!(
                    "parameter 'workdir': {} is not a directory on this node",
                    workdir.display()
                )));
            }
            if pidfile.parent().is_some_and(|d| !d.is_dir()) {
                return Err(OcfError::args(format!(
                    "parameter 'pidfile': the directory of {} does not exist on this node",
                    pidfile.display()
                )));
            }
            user = v.str(param::USER).map(lookup_user).transpose()?;
            if let Some(path) = v.str(param::ENVFILE) {
                let path = absolute(param::ENVFILE, path)?;
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    OcfError::args(format!(
                        "parameter 'envfile': cannot read {}: {e}",
                        path.display()
                    ))
                })?;
                let vars = settings::parse_env_file(&text).map_err(|e| {
                    OcfError::configured(format!("parameter 'envfile': {}: {e}", path.display()))
                })?;
                envfile = Some((path, vars));
            }
        }
        Ok(Config {
            binary,
            args,
            user,
            workdir,
            pidfile,
            logfile,
            envfile,
            health,
            deep,
            expect,
            http_timeout,
            stop_timeout,
        })
    }

    fn monitor(&self, cfg: &Config, ctx: &Ctx) -> Result<Status, OcfError> {
        let pid = match process::find(&cfg.pidfile, Some(&cfg.binary)) {
            Found::NoPidfile => return self.not_running(cfg),
            Found::Gone(pid) => {
                log::info!("process {pid} from {} is gone (stale pid file)", cfg.pidfile.display());
                return self.not_running(cfg);
            }
            Found::NotOurs(pid, why) => {
                log::warn!(
                    "pid file {} is stale: pid {pid} is another process ({why})",
                    cfg.pidfile.display()
                );
                return self.not_running(cfg);
            }
            Found::Unreadable(why) => {
                return Err(OcfError::generic(format!(
                    "pid file {} is unusable: {why}",
                    cfg.pidfile.display()
                )));
            }
            Found::Ours(pid, _) => pid,
        };
        let Err(why) = self.probe(cfg, &ctx.deadline, ctx.check_level >= 10) else {
            return Ok(Status::Running);
        };
        let stopped = process::stat(pid).is_some_and(|s| matches!(s.state, 'T' | 't'));
        let state = if stopped { " and is stopped (SIGSTOP)" } else { "" };
        Err(OcfError::generic(format!("process {pid} is alive{state} but unhealthy: {why}")))
    }

    fn start(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        match process::find(&cfg.pidfile, Some(&cfg.binary)) {
            Found::Ours(pid, _) => {
                log::info!("process {pid} is already running; waiting for it to be healthy");
                let start = process::stat(pid).map(|s| s.start).unwrap_or_default();
                return self.wait_healthy(cfg, &ctx.deadline, pid, start, None);
            }
            Found::NoPidfile => {}
            stale => {
                log::warn!("removing stale pid file {} ({stale:?})", cfg.pidfile.display());
                process::remove_pidfile(&cfg.pidfile).map_err(|e| {
                    OcfError::generic(format!(
                        "cannot remove stale pid file {}: {e}",
                        cfg.pidfile.display()
                    ))
                })?;
            }
        }
        // Our daemon without its pid file (deleted, or written elsewhere): adopt it.
        if let Some(&pid) = process::orphans(&cfg.binary, &cfg.args).first() {
            log::warn!("{} already runs as process {pid}; adopting it", cfg.binary.display());
            let rec = process::record(pid);
            process::write_pidfile(&cfg.pidfile, &rec).map_err(|e| {
                OcfError::generic(format!("cannot write pid file {}: {e}", cfg.pidfile.display()))
            })?;
            return self.wait_healthy(cfg, &ctx.deadline, pid, rec.start.unwrap_or_default(), None);
        }
        // Another process answering on the health URL would make start report our daemon
        // healthy while it fails to bind: refuse instead.
        let pre = http::check(
            &cfg.health,
            &cfg.expect,
            cfg.check_timeout(&ctx.deadline).min(Duration::from_secs(2)),
        );
        if pre.answered() {
            return Err(OcfError::generic(format!(
                "something else already answers on {} before start; not starting a second daemon",
                cfg.health.0
            )));
        }
        process::check_logfile(&cfg.logfile).map_err(|e| {
            OcfError::args(format!(
                "parameter 'logfile': cannot open {}: {e}",
                cfg.logfile.display()
            ))
        })?;
        let env = cfg.environment();
        let launch = Launch {
            binary: &cfg.binary,
            args: &cfg.args,
            workdir: &cfg.workdir,
            env: &env,
            logfile: &cfg.logfile,
            user: cfg.user.as_ref(),
        };
        let mut child = process::spawn(&launch).map_err(|e| {
            let code = if e.kind() == std::io::ErrorKind::PermissionDenied {
                ocf::OcfCode::ErrPerm
            } else {
                ocf::OcfCode::ErrGeneric
            };
            OcfError::new(code, format!("cannot start {}: {e}", cfg.binary.display()))
        })?;
        let pid = i32::try_from(child.id()).map_err(|_| OcfError::generic("pid out of range"))?;
        let rec = process::record(pid);
        let start = rec.start.unwrap_or_default();
        if let Err(e) = process::write_pidfile(&cfg.pidfile, &rec) {
            abandon(&mut child, pid);
            return Err(OcfError::generic(format!(
                "cannot write pid file {}: {e}",
                cfg.pidfile.display()
            )));
        }
        log::info!("started {} as process {pid}", cfg.binary.display());
        // Keep a reserve of the start timeout to stop the daemon again if it never gets healthy.
        let reserve = (ctx.deadline.remaining() / 5).clamp(Duration::from_millis(300), CLEANUP);
        let wait = ctx.deadline.sub(ctx.deadline.remaining().saturating_sub(reserve));
        match self.wait_healthy(cfg, &wait, pid, start, Some(&mut child)) {
            Ok(()) => {
                log::info!(
                    "process {pid} is healthy after {} ms",
                    ctx.deadline.elapsed().as_millis()
                );
                Ok(())
            }
            Err(e) => {
                // Stop what we started, gently first, within the reserve. A child that has
                // exited was reaped by try_wait: its pid is not signalled any more.
                if matches!(child.try_wait(), Ok(None)) {
                    let _ = self.terminate(pid, start, reserve / 2, ctx);
                    abandon(&mut child, pid);
                }
                let _ = process::remove_pidfile(&cfg.pidfile);
                Err(e)
            }
        }
    }

    fn stop(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        self.stop_pidfile(&cfg.pidfile, Some(&cfg.binary), Some(&cfg.args), cfg.stop_timeout, ctx)
    }

    /// With a broken configuration, stop still acts on the pid file (identity by start time),
    /// so a resource that is running is never left behind and a stopped one stops with 0.
    fn stop_invalid(&self, ctx: &Ctx, err: OcfError) -> Result<(), OcfError> {
        log::warn!("stop with an invalid configuration ({}); using the pid file", err.reason());
        let pidfile = match pidfile_from(&ctx.env, &ctx.instance) {
            Ok(p) => p,
            Err(_) => return Ok(()),
        };
        let binary = ctx.env.param(param::BINARY).map(PathBuf::from);
        let args = settings::split_args(ctx.env.param(param::ARGUMENTS).unwrap_or("")).ok();
        let stop_timeout = ctx
            .env
            .param(param::STOP_TIMEOUT)
            .and_then(|v| v.parse().ok())
            .map(Duration::from_secs);
        self.stop_pidfile(&pidfile, binary.as_deref(), args.as_deref(), stop_timeout, ctx)
    }
}

/// Kill the whole process group of a daemon this invocation started, then reap it. The leader
/// is our child and not yet reaped, so its pid (the group id) cannot have been reused.
fn abandon(child: &mut std::process::Child, pid: i32) {
    let _ = process::signal_group(pid, Signal::SIGKILL);
    // Bounded: a process stuck in uninterruptible sleep must not hold the agent past its timeout.
    let limit = Deadline::after(Duration::from_secs(1));
    let _ = limit.wait_for(Duration::from_millis(20), || child.try_wait().ok().flatten());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pidfile_names() {
        assert_eq!(default_pidfile("api"), PathBuf::from("/run/ferroha-restapi-api.pid"));
        assert_eq!(default_pidfile("api:1"), PathBuf::from("/run/ferroha-restapi-api:1.pid"));
        assert_eq!(default_pidfile("a/b"), PathBuf::from("/run/ferroha-restapi-a_b.pid"));
    }

    #[test]
    fn environment_is_clean_plus_envfile() {
        let cfg = Config {
            binary: "/bin/true".into(),
            args: vec![],
            user: None,
            workdir: "/".into(),
            pidfile: "/run/x.pid".into(),
            logfile: "/dev/null".into(),
            envfile: Some((
                "/e".into(),
                vec![("PATH".into(), "/opt/bin".into()), ("A".into(), "1".into())],
            )),
            health: HttpUrl("http://127.0.0.1/".into()),
            deep: None,
            expect: Expect { status: 200, pattern: None },
            http_timeout: Duration::from_secs(5),
            stop_timeout: None,
        };
        let env = cfg.environment();
        let get = |k: &str| env.iter().find(|(ek, _)| ek == k).map(|(_, v)| v.as_str());
        assert_eq!(get("PATH"), Some("/opt/bin"));
        assert_eq!(get("A"), Some("1"));
        assert_eq!(get("LANG"), Some("C"));
        assert_eq!(env.iter().filter(|(k, _)| k == "PATH").count(), 1);
        assert!(get("OCF_RESKEY_binary").is_none());
    }

    #[test]
    fn man_page_lists_every_parameter() {
        let man = ocf::doc::man_page(&RestApi::INFO);
        for p in RestApi::INFO.params {
            assert!(man.contains(&format!("\\fB{}\\fR", p.name)), "{}", p.name);
        }
    }

    #[test]
    fn docs_match_params() {
        let md = include_str!("../../../docs/agents/restapi.md");
        if let Err(problems) = ocf::doc::check_docs(&RestApi::INFO, md) {
            panic!("docs/agents/restapi.md is out of sync with PARAMS:\n{problems}");
        }
    }
}
