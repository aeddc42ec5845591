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
//!   command line) with `http_timeout`; `deep_url` too at `OCF_CHECK_LEVEL` ≥ 10; `https://`
//!   verified against `ca_file` (or, when asked for, not at all). 7 only when the
//!   process is definitely gone (a stale pid file counts as gone); 1 with a reason when alive but
//!   unhealthy or hung;
//! - **stop** sends SIGCONT+SIGTERM to the daemon's process group, waits `stop_timeout` (or what
//!   the stop timeout leaves), then SIGKILL, verifies it is gone and removes the pid file.

mod http;
mod process;
mod settings;

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use ocf::proc::{self, Found, PidRecord};
use ocf::{ActionSpec, Agent, AgentInfo, Ctx, Deadline, OcfError, Param, Status, Values};

use http::{Expect, Verify};
use process::{Launch, RunAs};
use settings::HealthUrl;

pub(crate) const BINARY: Param = Param::string("binary").required().desc(
    "Daemon executable",
    "Absolute path of the daemon to run, e.g. /usr/bin/ferroha-api. It must stay in the \
     foreground (not fork into the background itself): the agent tracks the process it starts.",
);
pub(crate) const ARGUMENTS: Param = Param::string("arguments").desc(
    "Arguments",
    "Arguments for the daemon, split into words as a POSIX shell splits plain words \
     ('single' and \"double\" quotes, backslash escapes, a word starting with # begins a \
     comment) but never run through a shell: no variables, globs or substitutions. An \
     unclosed quote is a configuration error. Keep secrets out of it (argv is \
     world-readable in /proc): use a file the daemon reads, or envfile.",
);
pub(crate) const USER: Param = Param::string("user").desc(
    "User to run as",
    "Run the daemon as this user, with its primary and supplementary groups. Empty: as the \
     agent's user (root under Pacemaker).",
);
pub(crate) const WORKDIR: Param = Param::string("workdir")
    .default("/")
    .desc("Working directory", "Absolute directory the daemon starts in.");
pub(crate) const PIDFILE: Param = Param::string("pidfile").unique().desc(
    "Pid file",
    "Where the agent records the daemon's pid and start time. Empty: \
     /run/ferroha-restapi-<instance>.pid. Written by the agent, not by the daemon.",
);
pub(crate) const LOGFILE: Param = Param::string("logfile").default("/dev/null").desc(
    "Log file for stdout and stderr",
    "The daemon's standard output and error are appended here (created with mode 0640).",
);
pub(crate) const ENVFILE: Param = Param::string("envfile").desc(
    "Environment file",
    "KEY=VALUE lines (optional export prefix, # comments, values optionally quoted) added to \
     the daemon's environment, which otherwise holds only PATH, HOME, USER, LOGNAME and LANG=C. \
     Read by the agent; never passed through a shell or a command line.",
);
pub(crate) const HEALTH_URL: Param = Param::string("health_url").required().desc(
    "Health URL",
    "http:// or https:// URL that answers expected_status when the daemon is ready, e.g. \
     http://127.0.0.1:8080/ready. Start waits for it; every monitor checks it. Parsed strictly \
     (the WHATWG URL Standard, with none of its repairs): no credentials, no fragment. An \
     https:// URL is verified against ca_file.",
);
pub(crate) const EXPECTED_STATUS: Param =
    Param::integer("expected_status", 100, 599).default("200").desc(
        "Expected HTTP status",
        "The status health_url (and deep_url) must answer. Redirects are not followed.",
    );
pub(crate) const BODY_PATTERN: Param = Param::string("body_pattern").desc(
    "Text the body must contain",
    "When set, the health (and deep) response body must contain this plain substring.",
);
pub(crate) const DEEP_URL: Param = Param::string("deep_url").desc(
    "Deeper check URL (OCF_CHECK_LEVEL 10)",
    "http:// or https:// URL also checked by monitors with OCF_CHECK_LEVEL 10 or more (e.g. \
     one that reaches the database), with the same expected status, pattern and TLS settings.",
);
pub(crate) const CA_FILE: Param =
    Param::string("ca_file").default("/etc/ssl/certs/ca-certificates.crt").desc(
        "CA certificates for https:// checks",
        "PEM file of the CA certificates the certificate of an https:// health_url or deep_url \
         must chain to; the certificate must also name the URL's host (DNS name or IP address) \
         and be within its dates. The default is the system trust store of Debian and Ubuntu \
         (package ca-certificates); for a daemon with a private or self-signed certificate, \
         give its CA's PEM file. Read at every https:// check; unused for http://.",
    );
pub(crate) const INSECURE_SKIP_TLS_VERIFY: Param =
    Param::boolean("insecure_skip_tls_verify").default("false").desc(
        "Accept any https:// certificate (insecure)",
        "When true, an https:// check verifies nothing: no CA, host name or date check, and \
         ca_file is ignored. Whoever answers on the address passes the health check: another \
         process that took the port, or anything on the network path for a remote host. Only \
         for tests, or a loopback-only daemon whose certificate cannot be verified.",
    );
pub(crate) const HTTP_TIMEOUT: Param = Param::integer("http_timeout", 1, 300).default("5").desc(
    "HTTP timeout, seconds",
    "How long one health request may take before the daemon counts as hung. Always cut to \
     what the operation timeout leaves.",
);
pub(crate) const STOP_TIMEOUT: Param = Param::integer("stop_timeout", 1, 3600).desc(
    "Seconds between SIGTERM and SIGKILL",
    "How long stop waits after SIGTERM before SIGKILL. Empty: what the stop timeout leaves, \
     minus a reserve for SIGKILL.",
);

const PARAMS: &[Param] = &[
    BINARY,
    ARGUMENTS,
    USER,
    WORKDIR,
    PIDFILE,
    LOGFILE,
    ENVFILE,
    HEALTH_URL,
    EXPECTED_STATUS,
    BODY_PATTERN,
    DEEP_URL,
    CA_FILE,
    INSECURE_SKIP_TLS_VERIFY,
    HTTP_TIMEOUT,
    STOP_TIMEOUT,
];

const ACTIONS: &[ActionSpec] = &[
    ActionSpec::new("start", 60),
    ActionSpec::new("stop", 30),
    ActionSpec::monitor(20, 10),
    ActionSpec { depth: Some(10), interval_s: Some(60), ..ActionSpec::new("monitor", 20) },
    ActionSpec::new("meta-data", 5),
    ActionSpec::new("validate-all", 20),
];

/// How start paces its health checks: the first right after the spawn, then every
/// `POLL_FINE` for the first `POLL_FINE_CHECKS` pauses (50 ms), every `POLL_FIRST` until
/// `POLL_FIRST_CHECKS` pauses (100 ms in all), then each pause half as long again as the one
/// before, up to `POLL_MAX`. A daemon ready within milliseconds (ferroha-api answers about 4 ms
/// after exec) is seen at most 2 ms late, one ready within 100 ms at most 10 ms late; one that
/// needs seconds is asked at most 10 times a second. A check that finds nobody listening is a
/// refused loopback connect, tens of microseconds, so the fine grain costs next to nothing.
const POLL_FINE: Duration = Duration::from_millis(2);
const POLL_FINE_CHECKS: u32 = 25;
const POLL_FIRST: Duration = Duration::from_millis(10);
const POLL_FIRST_CHECKS: u32 = 30;
const POLL_MAX: Duration = Duration::from_millis(100);

/// The pause after the `n`th one (counted from 1) was `pause` (see [`POLL_FINE`]).
fn next_poll(n: u32, pause: Duration) -> Duration {
    if n < POLL_FINE_CHECKS {
        POLL_FINE
    } else if n < POLL_FIRST_CHECKS {
        POLL_FIRST
    } else {
        (pause * 3 / 2).min(POLL_MAX)
    }
}

/// The most of the start timeout kept back to stop a daemon that never became healthy (the
/// reserve is a fifth of what is left, between 300 ms and this).
const CLEANUP: Duration = Duration::from_secs(3);

/// The `restapi` agent.
#[derive(Debug, Default)]
pub struct RestApi;

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    binary: PathBuf,
    args: Vec<String>,
    user: Option<RunAs>,
    workdir: PathBuf,
    pidfile: PathBuf,
    logfile: PathBuf,
    /// Environment file (path, parsed variables).
    envfile: Option<(PathBuf, Vec<(String, String)>)>,
    health: HealthUrl,
    deep: Option<HealthUrl>,
    /// Certificate checks of https:// URLs.
    verify: Verify,
    expect: Expect,
    http_timeout: Duration,
    /// TERM → KILL wait.
    stop_timeout: Option<Duration>,
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
        let binary = absolute(&BINARY, v.str(&BINARY))?;
        let args = v.words(&ARGUMENTS)?;
        let workdir = absolute(&WORKDIR, v.str(&WORKDIR))?;
        let pidfile = pidfile_from(v, &ctx.instance)?;
        let logfile = absolute(&LOGFILE, v.str(&LOGFILE))?;
        let url = |p: &Param, text: &str| {
            settings::parse_url(text)
                .map_err(|e| OcfError::configured(format!("parameter '{}': {e}", p.name)))
        };
        let health = url(&HEALTH_URL, v.str(&HEALTH_URL))?;
        let deep = v.opt_str(&DEEP_URL).map(|text| url(&DEEP_URL, text)).transpose()?;
        // TLS settings matter (and are checked) only for https:// URLs.
        let https = health.is_https() || deep.as_ref().is_some_and(HealthUrl::is_https);
        let verify = match v.flag(&INSECURE_SKIP_TLS_VERIFY) {
            true => Verify::Nothing,
            false if https => Verify::CaFile(absolute(&CA_FILE, v.str(&CA_FILE))?),
            false => Verify::CaFile(PathBuf::from(v.str(&CA_FILE))),
        };
        let expect = Expect {
            status: v.num(&EXPECTED_STATUS),
            pattern: v.opt_str(&BODY_PATTERN).map(str::to_owned),
        };
        let http_timeout = v.secs(&HTTP_TIMEOUT);
        let stop_timeout = v.opt_secs(&STOP_TIMEOUT);
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
            if https {
                check_tls(&verify)?;
            }
            user = v.opt_str(&USER).map(lookup_user).transpose()?;
            if let Some(path) = v.opt_str(&ENVFILE) {
                let path = absolute(&ENVFILE, path)?;
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
            verify,
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
        let stopped = proc::stat(pid).is_some_and(|s| s.stopped());
        let state = if stopped { " and is stopped (SIGSTOP)" } else { "" };
        Err(OcfError::generic(format!("process {pid} is alive{state} but unhealthy: {why}")))
    }

    fn start(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        if let Some((pid, start)) = self.adopt(cfg)? {
            return self.wait_healthy(cfg, &ctx.deadline, pid, start, None);
        }
        self.refuse_if_port_taken(cfg, &ctx.deadline)?;
        self.spawn_and_wait(cfg, ctx)
    }

    fn stop(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        self.stop_pidfile(&cfg.pidfile, Some(&cfg.binary), Some(&cfg.args), cfg.stop_timeout, ctx)
    }

    /// With a broken configuration, stop still acts on the pid file (identity by start time),
    /// so a resource that is running is never left behind and a stopped one stops with 0.
    fn stop_invalid(&self, v: &Values<'_>, ctx: &Ctx, err: OcfError) -> Result<(), OcfError> {
        log::warn!("stop with an invalid configuration ({}); using the pid file", err.reason());
        let Ok(pidfile) = pidfile_from(v, &ctx.instance) else { return Ok(()) };
        let binary = v.opt_str(&BINARY).map(PathBuf::from);
        let args = v.words(&ARGUMENTS).ok();
        let stop_timeout = v.opt_secs(&STOP_TIMEOUT);
        self.stop_pidfile(&pidfile, binary.as_deref(), args.as_deref(), stop_timeout, ctx)
    }
}

impl RestApi {
    /// Our daemon, if it already runs: the one the pid file names, or one that lost its pid
    /// file (found by executable and arguments), which gets a pid file again. A stale pid file
    /// is removed.
    fn adopt(&self, cfg: &Config) -> Result<Option<(i32, u64)>, OcfError> {
        match process::find(&cfg.pidfile, Some(&cfg.binary)) {
            Found::Ours(pid, st) => {
                log::info!("process {pid} is already running; waiting for it to be healthy");
                return Ok(Some((pid, st.start)));
            }
            Found::NoPidfile => {}
            stale => {
                log::warn!("removing stale pid file {} ({stale:?})", cfg.pidfile.display());
                proc::remove(&cfg.pidfile).map_err(|e| {
                    let what = format!("cannot remove stale pid file {}", cfg.pidfile.display());
                    OcfError::from_io(what, e)
                })?;
            }
        }
        let Some(&pid) = process::orphans(&cfg.binary, &cfg.args).first() else { return Ok(None) };
        log::warn!("{} already runs as process {pid}; adopting it", cfg.binary.display());
        let rec = PidRecord::of(pid);
        write_pidfile(&cfg.pidfile, &rec)?;
        Ok(Some((pid, rec.start.unwrap_or_default())))
    }

    /// Another process answering on the health URL would make start report our daemon
    /// healthy while it fails to bind: refuse instead.
    fn refuse_if_port_taken(&self, cfg: &Config, deadline: &Deadline) -> Result<(), OcfError> {
        let timeout = cfg.check_timeout(deadline).min(Duration::from_secs(2));
        if http::check(&cfg.health, &cfg.verify, &cfg.expect, timeout).answered() {
            return Err(OcfError::generic(format!(
                "something else already answers on {} before start; not starting a second daemon",
                cfg.health
            )));
        }
        Ok(())
    }

    /// Spawn the daemon, record it, and wait for it to become healthy; keep a reserve of the
    /// start timeout to stop it again when it does not.
    fn spawn_and_wait(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
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
        let mut child = process::spawn(&launch)
            .map_err(|e| OcfError::from_io(format!("cannot start {}", cfg.binary.display()), e))?;
        let pid = i32::try_from(child.id()).map_err(|_| OcfError::generic("pid out of range"))?;
        let rec = PidRecord::of(pid);
        let start = rec.start.unwrap_or_default();
        if let Err(e) = write_pidfile(&cfg.pidfile, &rec) {
            abandon(&mut child, pid);
            return Err(e);
        }
        log::info!("started {} as process {pid}", cfg.binary.display());
        let reserve = (ctx.deadline.remaining() / 5).clamp(Duration::from_millis(300), CLEANUP);
        let wait = ctx.deadline.sub(ctx.deadline.remaining().saturating_sub(reserve));
        let healthy = self.wait_healthy(cfg, &wait, pid, start, Some(&mut child));
        match &healthy {
            Ok(()) => {
                log::info!(
                    "process {pid} is healthy after {} ms",
                    ctx.deadline.elapsed().as_millis()
                );
            }
            Err(_) => {
                // Stop what we started, gently first, within the reserve. A child that has
                // exited was reaped by try_wait: its pid is not signalled any more.
                if matches!(child.try_wait(), Ok(None)) {
                    let name = cfg.binary.display().to_string();
                    let _ = proc::terminate(&name, pid, start, reserve / 2, &ctx.deadline);
                    abandon(&mut child, pid);
                }
                let _ = proc::remove(&cfg.pidfile);
            }
        }
        healthy
    }

    /// Health (and, at check level ≥ 10, deep) check of a running daemon; the error is
    /// `<url>: <why>`.
    fn probe(&self, cfg: &Config, deadline: &Deadline, deep: bool) -> Result<(), String> {
        let urls = std::iter::once(&cfg.health).chain(cfg.deep.as_ref().filter(|_| deep));
        for url in urls {
            let probe = http::check(url, &cfg.verify, &cfg.expect, cfg.check_timeout(deadline));
            if let Some(why) = probe.problem() {
                return Err(format!("{url}: {why}"));
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
        mut child: Option<&mut Child>,
    ) -> Result<(), OcfError> {
        let mut pause = POLL_FINE;
        let mut pauses = 0;
        loop {
            if let Some(c) = child.as_deref_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    return Err(OcfError::generic(format!(
                        "{} exited during start ({status}); see {}",
                        cfg.binary.display(),
                        cfg.logfile.display()
                    )));
                }
            } else if !proc::alive(pid, start) {
                return Err(OcfError::generic(format!(
                    "process {pid} exited during start; see {}",
                    cfg.logfile.display()
                )));
            }
            let Err(last) = self.probe(cfg, deadline, false) else {
                return Ok(());
            };
            if deadline.remaining() < pause {
                return Err(OcfError::generic(format!(
                    "{} did not become healthy within the start timeout ({last})",
                    cfg.binary.display()
                )));
            }
            deadline.sleep(pause);
            pauses += 1;
            pause = next_poll(pauses, pause);
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
        let grace = stop_timeout.unwrap_or(Duration::MAX);
        let name = binary.map_or_else(|| "the daemon".to_owned(), |b| b.display().to_string());
        let stop = |pid: i32, start: u64| proc::terminate(&name, pid, start, grace, &ctx.deadline);
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
            Found::Ours(pid, st) => {
                stop(pid, st.start)?;
                log::info!("stopped process {pid}");
            }
        }
        if let (Some(binary), Some(args)) = (binary, args) {
            for pid in process::orphans(binary, args) {
                log::warn!(
                    "{} runs as process {pid} without a valid pid file; stopping it",
                    binary.display()
                );
                if let Some(st) = proc::stat(pid) {
                    stop(pid, st.start)?;
                }
            }
        }
        proc::remove(pidfile).map_err(|e| {
            OcfError::from_io(format!("cannot remove pid file {}", pidfile.display()), e)
        })
    }
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

fn absolute(p: &Param, v: &str) -> Result<PathBuf, OcfError> {
    let path = PathBuf::from(v);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(OcfError::configured(format!(
            "parameter '{}' must be an absolute path, not '{v}'",
            p.name
        )))
    }
}

/// The default pid file for an instance (a clone's `:N` kept, `/` replaced).
pub(crate) fn default_pidfile(instance: &str) -> PathBuf {
    PathBuf::from(format!("/run/ferroha-restapi-{}.pid", instance.replace('/', "_")))
}

fn pidfile_from(v: &Values<'_>, instance: &str) -> Result<PathBuf, OcfError> {
    match v.opt_str(&PIDFILE) {
        Some(path) => absolute(&PIDFILE, path),
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

/// The node-local part of the TLS settings (start, validate-all): a CA file that is there and
/// holds CA certificates; a warning when nothing is verified.
fn check_tls(verify: &Verify) -> Result<(), OcfError> {
    let path = match verify {
        Verify::CaFile(path) => path,
        Verify::Nothing => {
            log::warn!(
                "https:// certificates are not verified (insecure_skip_tls_verify): whoever \
                 answers on the health address passes"
            );
            return Ok(());
        }
    };
    let pem = std::fs::read(path).map_err(|e| {
        OcfError::args(format!("parameter 'ca_file': cannot read {}: {e}", path.display()))
    })?;
    settings::ca_certificates(&pem).map_err(|e| {
        OcfError::configured(format!("parameter 'ca_file': {} {e}", path.display()))
    })?;
    Ok(())
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn write_pidfile(path: &Path, rec: &PidRecord) -> Result<(), OcfError> {
    rec.write(path)
        .map_err(|e| OcfError::from_io(format!("cannot write pid file {}", path.display()), e))
}

/// Kill the whole process group of a daemon this invocation started, then reap it. The leader
/// is our child and not yet reaped, so its pid (the group id) cannot have been reused.
fn abandon(child: &mut Child, pid: i32) {
    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
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
            health: settings::parse_url("http://127.0.0.1/").unwrap(),
            deep: None,
            verify: Verify::Nothing,
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
    fn start_polls_soon_then_less_often() {
        let mut pauses = vec![POLL_FINE];
        while pauses.len() < 38 {
            pauses.push(next_poll(pauses.len() as u32, pauses[pauses.len() - 1]));
        }
        let ms: Vec<u128> = pauses.iter().map(Duration::as_millis).collect();
        let mut want = vec![2; 25];
        want.extend([10, 10, 10, 10, 10, 15, 22, 33, 50, 75, 100, 100, 100]);
        assert_eq!(ms, want);
        // The fine grain covers the first 50 ms, the 10 ms grain the next 50.
        assert_eq!(pauses[..25].iter().sum::<Duration>(), Duration::from_millis(50));
        assert_eq!(pauses[..30].iter().sum::<Duration>(), Duration::from_millis(100));
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
