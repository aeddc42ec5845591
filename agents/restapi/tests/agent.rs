//! The `restapi` agent managing the real `ferroha-api` binary on loopback ports. Each test has its
//! own temporary directory (config, token, pid file, log) and port; whatever it started is
//! killed by pid when it ends. The API's database is never reachable here (a closed loopback
//! port), which is what the failed-start case needs; the other cases check `/health`.
//!
//! Runs unprivileged; the few cases that need root, network namespaces or resource-agents'
//! ocf-tester are system tests (ignored unless `--include-ignored`, as scripts/test.sh runs them).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::{Pid, getsid};
use testkit::{Agent, Env, Outcome, STUBBORN, workspace_binary};

const RESTAPI: &str = env!("CARGO_BIN_EXE_restapi");
static SEQ: AtomicU32 = AtomicU32::new(0);

/// The `ferroha-api` binary of this workspace.
fn api_binary() -> PathBuf {
    workspace_binary("ferroha-api", "ferroha-api")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// Signal a process this test started.
fn kill(pid: i32, sig: Signal) {
    let _ = nix::sys::signal::kill(Pid::from_raw(pid), sig);
}

/// One managed API: its files, port and parameters.
struct Fixture {
    dir: tempfile::TempDir,
    port: u16,
    instance: String,
    env: Env,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture::with_dir_mode(0o700)
    }

    fn with_dir_mode(mode: u32) -> Fixture {
        become_subreaper();
        let dir = tempfile::Builder::new().prefix("fhrest").tempdir().expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).expect("chmod");
        let port = free_port();
        let instance = format!("api{}x{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
        let token = dir.path().join("token");
        std::fs::write(&token, format!("tok-{instance}\n")).expect("token");
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let conf = dir.path().join("api.conf");
        // The database port is closed: /ready is 503, /health 200.
        std::fs::write(
            &conf,
            format!(
                "listen = 127.0.0.1:{port}\ndb_port = {}\ndb_timeout_ms = 300\ntoken_file = {}\n",
                free_port(),
                token.display()
            ),
        )
        .expect("conf");
        let d = dir.path().display().to_string();
        let env = Env::new(&instance)
            .param("binary", api_binary().display().to_string())
            .param("arguments", format!("--config '{}'", conf.display()))
            .param("pidfile", format!("{d}/api.pid"))
            .param("logfile", format!("{d}/api.log"))
            .param("health_url", format!("http://127.0.0.1:{port}/health"));
        Fixture { dir, port, instance, env }
    }

    fn pidfile(&self) -> PathBuf {
        self.dir.path().join("api.pid")
    }

    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.pidfile()).ok()?.lines().next()?.trim().parse().ok()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("api.log")).unwrap_or_default()
    }

    fn set(&mut self, k: &str, v: &str) {
        self.env.set_param(k, v);
    }

    /// Run the agent; `extra` are further environment variables.
    fn run(&self, action: &str, extra: &[(&str, &str)]) -> Outcome {
        self.run_in(&[], action, extra)
    }

    /// Run the agent behind a command prefix (e.g. `ip netns exec NS`).
    fn run_in(&self, prefix: &[&str], action: &str, extra: &[(&str, &str)]) -> Outcome {
        let env = extra.iter().fold(self.env.clone(), |e, (k, v)| e.var(k, v));
        Agent::new(RESTAPI).behind(prefix).run(action, &env)
    }

    /// Processes whose command line mentions this fixture's directory (ours, whatever the pid
    /// file says).
    fn processes(&self) -> Vec<i32> {
        testkit::processes_mentioning(&self.dir.path().display().to_string())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for pid in self.processes() {
            kill(pid, Signal::SIGCONT);
            kill(pid, Signal::SIGKILL);
            wait_gone(pid);
        }
        reap_daemons();
    }
}

/// Daemons outlive the agent that started them (that is the point), so they are orphaned. Make
/// this test process their subreaper, so they end up as our children and not as zombies of an
/// init that may not reap (some containers).
fn become_subreaper() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        nix::sys::prctl::set_child_subreaper(true).expect("become a child subreaper");
    });
}

/// Reap exited ferroha-api daemons reparented to us. Only those: other children belong to
/// `Command` handles of concurrent tests, which wait for them themselves.
fn reap_daemons() {
    let me = std::process::id().to_string();
    for e in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let comm_ok = stat.contains("(ferroha-api)");
        let rest: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
        if comm_ok && rest.first() == Some(&"Z") && rest.get(1) == Some(&me.as_str()) {
            // A specific zombie child that no Child handle owns.
            let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
        }
    }
}

fn wait_gone(pid: i32) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if st.is_empty() || st.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z')) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn start_monitor_stop_manage_the_real_daemon() {
    let f = Fixture::new();
    assert_eq!(f.run("monitor", &[]).rc, 7);
    let r = f.run("start", &[]);
    assert_eq!(r.rc, 0, "{r:?}\n{}", f.log());
    let pid = f.pid().expect("pid file");
    // Detached: its own session and process group.
    assert_eq!(getsid(Some(Pid::from_raw(pid))), Ok(Pid::from_raw(pid)));
    assert_eq!(f.processes(), [pid]);
    assert_eq!(f.run("monitor", &[]).rc, 0);
    assert_eq!(f.run("start", &[]).rc, 0, "start again is a no-op");
    assert_eq!(f.pid(), Some(pid));
    let r = f.run("stop", &[]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(wait_gone(pid));
    assert!(!f.pidfile().exists());
    assert!(f.log().contains("shutting down"), "SIGTERM came first: {}", f.log());
    assert_eq!(f.run("monitor", &[]).rc, 7);
    assert_eq!(f.run("stop", &[]).rc, 0, "stop when stopped");
}

#[test]
fn kill_9_makes_monitor_report_not_running() {
    let f = Fixture::new();
    assert_eq!(f.run("start", &[]).rc, 0, "{}", f.log());
    let pid = f.pid().expect("pid");
    kill(pid, Signal::SIGKILL);
    assert!(wait_gone(pid));
    let r = f.run("monitor", &[]);
    assert_eq!(r.rc, 7, "{r:?}");
    assert_eq!(f.run("stop", &[]).rc, 0);
    assert!(!f.pidfile().exists(), "stop removed the stale pid file");
    assert_eq!(f.run("start", &[]).rc, 0, "restart after the crash");
    assert_eq!(f.run("stop", &[]).rc, 0);
}

#[test]
fn hung_daemon_fails_monitor_within_its_timeout_and_stop_still_works() {
    let mut f = Fixture::new();
    f.set("http_timeout", "2");
    assert_eq!(f.run("start", &[]).rc, 0, "{}", f.log());
    let pid = f.pid().expect("pid");
    kill(pid, Signal::SIGSTOP);
    let r = f.run("monitor", &[("OCF_RESKEY_CRM_meta_timeout", "10000")]);
    assert_eq!(r.rc, 1, "{r:?}");
    assert!(r.took < Duration::from_secs(10), "monitor took {:?}", r.took);
    assert_eq!(
        r.reason(),
        format!(
            "process {pid} is alive and is stopped (SIGSTOP) but unhealthy: http://127.0.0.1:{}/health: no answer within 2000 ms",
            f.port
        )
    );
    let r = f.run("stop", &[("OCF_RESKEY_CRM_meta_timeout", "10000")]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(wait_gone(pid));
    assert!(f.processes().is_empty());
    assert!(!f.pidfile().exists());
}

#[test]
fn daemon_that_never_becomes_ready_fails_start_cleanly() {
    let mut f = Fixture::new();
    // /ready needs the database, which is unreachable.
    f.set("health_url", &format!("http://127.0.0.1:{}/ready", f.port));
    let r = f.run("start", &[("OCF_RESKEY_CRM_meta_timeout", "4000")]);
    assert_eq!(r.rc, 1, "{r:?}");
    assert!(r.took < Duration::from_secs(4), "took {:?}", r.took);
    assert!(
        r.reason().ends_with(&format!(
            "did not become healthy within the start timeout (http://127.0.0.1:{}/ready: answered HTTP 503, expected 200)",
            f.port
        )),
        "{}",
        r.reason()
    );
    assert!(f.processes().is_empty(), "nothing left running");
    assert!(!f.pidfile().exists());
    assert_eq!(f.run("monitor", &[]).rc, 7);
}

#[test]
fn daemon_that_exits_fails_start_with_its_status() {
    let f = Fixture::new();
    // The port is taken (accepts, never answers): ferroha-api cannot bind and exits 1.
    let busy = TcpListener::bind(("127.0.0.1", f.port)).expect("occupy the port");
    let r = f.run("start", &[("OCF_RESKEY_CRM_meta_timeout", "10000")]);
    drop(busy);
    assert_eq!(r.rc, 1, "{r:?}");
    assert!(r.reason().contains("exited during start (exit status: 1)"), "{}", r.reason());
    assert!(f.log().contains("cannot listen on"), "{}", f.log());
    assert!(f.processes().is_empty());
    assert!(!f.pidfile().exists());
}

#[test]
fn refuses_to_start_beside_another_server_on_the_health_url() {
    let f = Fixture::new();
    let other = TcpListener::bind(("127.0.0.1", f.port)).expect("bind");
    let server = std::thread::spawn(move || {
        if let Ok((mut s, _)) = other.accept() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let r = f.run("start", &[]);
    let _ = server.join();
    assert_eq!(r.rc, 1, "{r:?}");
    assert_eq!(
        r.reason(),
        format!(
            "something else already answers on http://127.0.0.1:{}/health before start; not starting a second daemon",
            f.port
        )
    );
    assert!(f.processes().is_empty());
}

#[test]
fn stale_pid_files_are_not_running_and_never_signalled() {
    let f = Fixture::new();
    // A dead pid, recorded the way the agent records it.
    let mut done = Command::new("true").spawn().expect("true");
    let dead = done.id();
    done.wait().expect("wait");
    std::fs::write(f.pidfile(), format!("{dead}\nstart=1 boot=x\n")).expect("write");
    assert_eq!(f.run("monitor", &[]).rc, 7);
    assert_eq!(f.run("stop", &[]).rc, 0);
    assert!(!f.pidfile().exists());

    // A live process that is not ours: a reused pid (wrong start time) and a bare pid of
    // another program.
    let mut other = Command::new("sleep").arg("60").spawn().expect("sleep");
    let pid = other.id();
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot id");
    for text in [format!("{pid}\nstart=1 boot={}\n", boot.trim()), format!("{pid}\n")] {
        std::fs::write(f.pidfile(), &text).expect("write");
        let r = f.run("monitor", &[]);
        assert_eq!(r.rc, 7, "{text}: {r:?}");
        assert_eq!(f.run("stop", &[]).rc, 0);
        assert!(!f.pidfile().exists());
        assert!(matches!(other.try_wait(), Ok(None)), "the other process was not signalled");
    }
    // start replaces a stale pid file and runs the daemon.
    std::fs::write(f.pidfile(), format!("{pid}\nstart=1 boot={}\n", boot.trim())).expect("write");
    assert_eq!(f.run("start", &[]).rc, 0, "{}", f.log());
    assert_ne!(f.pid(), Some(pid as i32));
    assert_eq!(f.run("stop", &[]).rc, 0);
    assert!(matches!(other.try_wait(), Ok(None)));
    let _ = other.kill();
    let _ = other.wait();
    // Garbage in the pid file: monitor cannot tell (1), stop cleans up (0).
    std::fs::write(f.pidfile(), "garbage").expect("write");
    let r = f.run("monitor", &[]);
    assert_eq!(r.rc, 1);
    assert!(r.reason().contains("is unusable"), "{}", r.reason());
    assert_eq!(f.run("stop", &[]).rc, 0);
}

#[test]
fn deep_check_runs_at_check_level_10() {
    let mut f = Fixture::new();
    f.set("deep_url", &format!("http://127.0.0.1:{}/ready", f.port));
    f.set("body_pattern", "\"status\"");
    assert_eq!(f.run("start", &[]).rc, 0, "{}", f.log());
    assert_eq!(f.run("monitor", &[]).rc, 0);
    let r = f.run("monitor", &[("OCF_CHECK_LEVEL", "10")]);
    assert_eq!(r.rc, 1);
    assert!(r.reason().ends_with("/ready: answered HTTP 503, expected 200"), "{}", r.reason());
    f.set("body_pattern", "no-such-text");
    let r = f.run("monitor", &[]);
    assert_eq!(r.rc, 1);
    assert!(r.reason().ends_with("the body does not contain 'no-such-text'"), "{}", r.reason());
    assert_eq!(f.run("stop", &[]).rc, 0);
}

#[test]
#[ignore = "system: root (the daemon runs as nobody); run by scripts/test.sh"]
fn runs_as_user_with_a_clean_environment() {
    let f = Fixture::with_dir_mode(0o755);
    let token = f.dir.path().join("token");
    let nobody = uid_of("nobody");
    std::os::unix::fs::chown(&token, Some(nobody), None).expect("chown token");
    let envfile = f.dir.path().join("env");
    std::fs::write(&envfile, "export FERROHA_TEST=yes\nRUST_LOG='info'\n").expect("env");
    let mut f = f;
    f.set("user", "nobody");
    f.set("envfile", &envfile.display().to_string());
    f.set("workdir", "/tmp");
    let r = f.run("start", &[]);
    assert_eq!(r.rc, 0, "{r:?}\n{}", f.log());
    let pid = f.pid().expect("pid");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
    assert!(uid.split_whitespace().nth(1) == Some(&nobody.to_string()), "{uid}");
    let env = std::fs::read(format!("/proc/{pid}/environ")).expect("environ");
    let env = String::from_utf8_lossy(&env);
    assert!(env.contains("FERROHA_TEST=yes") && env.contains("RUST_LOG=info"), "{env}");
    assert!(!env.contains("OCF_"), "agent variables leaked: {env}");
    assert_eq!(std::fs::read_link(format!("/proc/{pid}/cwd")).expect("cwd"), Path::new("/tmp"));
    assert_eq!(f.run("stop", &[]).rc, 0);
}

fn uid_of(name: &str) -> u32 {
    ocf::accounts::user(name).expect("read /etc/passwd").expect("user exists").uid
}

#[test]
fn bad_configuration_names_the_parameter() {
    let mut f = Fixture::new();
    let cases: &[(&str, &str, i32, &str)] = &[
        (
            "binary",
            "/nonexistent/ferroha-api",
            5,
            "parameter 'binary': /nonexistent/ferroha-api is not an executable file on this node",
        ),
        (
            "binary",
            "relative/api",
            6,
            "parameter 'binary' must be an absolute path, not 'relative/api'",
        ),
        (
            "arguments",
            "--config 'unterminated",
            6,
            "parameter 'arguments': an unclosed quote or a trailing backslash",
        ),
        (
            "health_url",
            "http://[::1:80/",
            6,
            "parameter 'health_url': 'http://[::1:80/' is not a valid URL: the IPv6 address in [brackets] is malformed or not closed",
        ),
        (
            "health_url",
            "http://u:p@127.0.0.1/",
            6,
            "parameter 'health_url': must not carry credentials (user:password@)",
        ),
        (
            "user",
            "no-such-user-fh",
            2,
            "parameter 'user': user 'no-such-user-fh' does not exist on this node (in /etc/passwd)",
        ),
        (
            "workdir",
            "/nonexistent",
            2,
            "parameter 'workdir': /nonexistent is not a directory on this node",
        ),
        (
            "expected_status",
            "99",
            6,
            "parameter 'expected_status' is 99, which is outside 100..599",
        ),
        (
            "envfile",
            "/nonexistent/env",
            2,
            "parameter 'envfile': cannot read /nonexistent/env: No such file or directory (os error 2)",
        ),
    ];
    let base = f.env.clone();
    for (k, v, rc, reason) in cases {
        f.env = base.clone();
        f.set(k, v);
        let r = f.run("validate-all", &[]);
        assert_eq!((r.rc, r.reason()), (*rc, *reason), "{k}={v}");
        let r = f.run("start", &[]);
        assert_eq!(r.rc, *rc, "start with {k}={v}");
        assert_eq!(f.run("stop", &[]).rc, 0, "stop with {k}={v}");
    }
    f.env = base.unset_param("health_url");
    let r = f.run("validate-all", &[]);
    assert_eq!((r.rc, r.reason()), (6, "required parameter 'health_url' is not set"));
    assert!(f.processes().is_empty());
}

#[test]
fn stop_with_a_broken_configuration_still_stops_the_daemon() {
    let mut f = Fixture::new();
    assert_eq!(f.run("start", &[]).rc, 0, "{}", f.log());
    let pid = f.pid().expect("pid");
    f.set("health_url", "not a url");
    assert_eq!(f.run("stop", &[]).rc, 0);
    assert!(wait_gone(pid));
    assert!(!f.pidfile().exists());
}

/// The schemas are checked by tests/metadata.rs (a system test: xmllint and resource-agents'
/// schemas), so the whole sequence runs here without them.
#[test]
fn ferroha_check_passes() {
    let f = Fixture::new();
    let mut c = ferroha_check::Checker::new(RESTAPI).instance(&f.instance).xmllint(false);
    for (k, v) in f.env.param_pairs() {
        c = c.param(k, v);
    }
    let report = c.run();
    assert!(report.passed(), "{report}\n{}", f.log());
    assert!(f.processes().is_empty());
}

#[test]
#[ignore = "system: resource-agents' ocf-tester; run by scripts/test.sh"]
fn ocf_tester_passes() {
    let f = Fixture::new();
    let mut cmd = Command::new("/usr/sbin/ocf-tester");
    cmd.args(["-n", &f.instance]);
    for (k, v) in f.env.param_pairs() {
        cmd.arg("-o").arg(format!("{k}={v}"));
    }
    let out = cmd.arg(RESTAPI).output().expect("run ocf-tester");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}\n{}", f.log());
    assert!(text.contains("passed all tests"), "{text}");
    assert!(f.processes().is_empty());
}

/// A daemon that ignores SIGTERM (the testkit's stubborn daemon); it answers HTTP on the
/// fixture's port when `serve` is true, otherwise it only sleeps.
fn stubborn(f: &mut Fixture, serve: bool) {
    let (package, bin) = STUBBORN;
    f.set("binary", &workspace_binary(package, bin).display().to_string());
    let port = if serve { f.port.to_string() } else { String::new() };
    f.set("arguments", &port);
    f.set("health_url", &format!("http://127.0.0.1:{}/", f.port));
}

#[test]
fn stop_escalates_to_sigkill_after_stop_timeout() {
    let mut f = Fixture::new();
    stubborn(&mut f, true);
    f.set("stop_timeout", "1");
    assert_eq!(f.run("start", &[]).rc, 0, "{}", f.log());
    let pid = f.pid().expect("pid");
    let r = f.run("stop", &[]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(r.took >= Duration::from_secs(1) && r.took < Duration::from_secs(10), "{:?}", r.took);
    assert!(r.stderr.contains("sending SIGKILL"), "{}", r.stderr);
    assert!(wait_gone(pid));
    assert!(f.processes().is_empty());
}

#[test]
fn start_timeout_kills_a_daemon_that_ignores_sigterm() {
    let mut f = Fixture::new();
    stubborn(&mut f, false);
    let r = f.run("start", &[("OCF_RESKEY_CRM_meta_timeout", "4000")]);
    assert_eq!(r.rc, 1, "{r:?}");
    assert!(r.took < Duration::from_secs(4), "{:?}", r.took);
    assert!(
        r.reason().contains("did not become healthy within the start timeout"),
        "{}",
        r.reason()
    );
    assert!(f.processes().is_empty(), "nothing left running");
    assert!(!f.pidfile().exists());
}

#[test]
#[ignore = "system: root + network namespaces (ip netns); run by scripts/test.sh"]
fn a_daemon_in_another_network_namespace_is_not_ours() {
    // Nodes of a namespace lab (or containers) share the PID namespace: a daemon with the same
    // binary and arguments in another network namespace must not make this node's probe fail.
    let f = Fixture::new();
    assert_eq!(f.run("start", &[]).rc, 0, "{}", f.log());
    let pid = f.pid().expect("pid");
    std::fs::remove_file(f.pidfile()).expect("rm pid file");
    let ns = format!("fhrn{}x{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
    let added = Command::new("ip").args(["netns", "add", &ns]).status().expect("ip netns add");
    assert!(added.success(), "needs root: ip netns add");
    let r = f.run_in(
        &["ip", "netns", "exec", &ns],
        "monitor",
        &[("OCF_RESKEY_CRM_meta_interval", "0")],
    );
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    assert_eq!(r.rc, 7, "{r:?}");
    assert_eq!(f.run("monitor", &[]).rc, 1, "in its own namespace it is still found");
    assert_eq!(f.run("stop", &[]).rc, 0);
    assert!(wait_gone(pid));
}

#[test]
fn a_daemon_that_lost_its_pid_file_is_not_reported_gone() {
    let f = Fixture::new();
    assert_eq!(f.run("start", &[]).rc, 0, "{}", f.log());
    let pid = f.pid().expect("pid");
    std::fs::remove_file(f.pidfile()).expect("rm pid file");
    let r = f.run("monitor", &[]);
    assert_eq!(r.rc, 1, "not definitely gone: {r:?}");
    assert_eq!(
        r.reason(),
        format!(
            "{} runs as process {pid} without a valid pid file {}",
            api_binary().display(),
            f.pidfile().display()
        )
    );
    // start adopts it (no second copy), and monitor is happy again.
    assert_eq!(f.run("start", &[]).rc, 0);
    assert_eq!(f.pid(), Some(pid));
    assert_eq!(f.processes(), [pid]);
    assert_eq!(f.run("monitor", &[]).rc, 0);
    // stop without the pid file still stops it.
    std::fs::write(f.pidfile(), "1234567\nstart=1 boot=x\n").expect("stale pid file");
    let r = f.run("stop", &[]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(wait_gone(pid));
    assert!(!f.pidfile().exists());
    assert_eq!(f.run("monitor", &[]).rc, 7);
}
