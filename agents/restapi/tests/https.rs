//! `https://` health checks against a real TLS server on loopback. Each test makes a throwaway
//! CA and server certificates with the `openssl` command (Debian package openssl) in its own
//! temporary directory, and the agent runs `openssl s_server -www` as its daemon on a free
//! loopback port: start waits for it over TLS, monitor checks it, stop stops it. Whatever a test
//! started is killed by pid when it ends.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

const RESTAPI: &str = env!("CARGO_BIN_EXE_restapi");
const OPENSSL: &str = "/usr/bin/openssl";
/// The default of `ca_file`: the system trust store, which knows nothing of the test CA.
const SYSTEM_CA: &str = "/etc/ssl/certs/ca-certificates.crt";
static SEQ: AtomicU32 = AtomicU32::new(0);

/// Run `openssl` with `args` in `dir`; panics with its stderr when it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new(OPENSSL)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl (Debian package openssl)");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA (`ca.pem`) and two server certificates it signed: `good` names 127.0.0.1 and localhost,
/// `other` names only elsewhere.invalid and 10.9.9.9.
fn make_pki(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=ferroha test CA",
    ]);
    ca.extend(["-addext", "basicConstraints=critical,CA:TRUE"]);
    ca.extend(["-addext", "keyUsage=critical,keyCertSign"]);
    openssl(dir, &ca);
    for (name, san) in
        [("good", "IP:127.0.0.1,DNS:localhost"), ("other", "DNS:elsewhere.invalid,IP:10.9.9.9")]
    {
        let (key, csr, pem, ext) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
            format!("{name}.ext"),
        );
        std::fs::write(
            dir.join(&ext),
            format!(
                "subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
            ),
        )
        .expect("extensions file");
        let mut req = vec!["req"];
        req.extend(ec);
        req.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=ferroha test server"]);
        openssl(dir, &req);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &ext,
            ],
        );
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

#[derive(Debug)]
struct Run {
    rc: i32,
    stderr: String,
}

impl Run {
    fn reason(&self) -> &str {
        self.stderr.lines().rev().find_map(|l| l.strip_prefix("ocf-exit-reason:")).unwrap_or("")
    }
}

/// One TLS daemon managed by the agent: its directory (certificates, pid file), port and
/// parameters.
struct Fixture {
    dir: tempfile::TempDir,
    port: u16,
    instance: String,
    params: Vec<(String, String)>,
}

impl Fixture {
    /// `cert` is `good` or `other` (see [`make_pki`]); `ca_file` is the test CA.
    fn new(cert: &str) -> Fixture {
        become_subreaper();
        let dir = tempfile::Builder::new().prefix("fhtls").tempdir().expect("tempdir");
        make_pki(dir.path());
        let port = free_port();
        let instance = format!("tls{}x{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst));
        let d = dir.path().display().to_string();
        let params = vec![
            ("binary".to_owned(), OPENSSL.to_owned()),
            (
                "arguments".to_owned(),
                format!(
                    "s_server -www -quiet -accept 127.0.0.1:{port} -cert '{d}/{cert}.pem' \
                     -key '{d}/{cert}.key'"
                ),
            ),
            ("pidfile".to_owned(), format!("{d}/server.pid")),
            ("logfile".to_owned(), format!("{d}/server.log")),
            ("health_url".to_owned(), format!("https://127.0.0.1:{port}/health")),
            ("ca_file".to_owned(), format!("{d}/ca.pem")),
        ];
        Fixture { dir, port, instance, params }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.path("server.pid")).ok()?.lines().next()?.trim().parse().ok()
    }

    fn set(&mut self, k: &str, v: &str) {
        self.unset(k);
        self.params.push((k.to_owned(), v.to_owned()));
    }

    fn unset(&mut self, k: &str) {
        self.params.retain(|(pk, _)| pk != k);
    }

    /// Run the agent; `extra` are further environment variables.
    fn run(&self, action: &str, extra: &[(&str, &str)]) -> Run {
        let mut cmd = Command::new(RESTAPI);
        cmd.arg(action)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RESOURCE_INSTANCE", &self.instance)
            .env("OCF_RESKEY_CRM_meta_timeout", "20000")
            .env("OCF_RESKEY_CRM_meta_interval", if action == "monitor" { "10000" } else { "0" })
            .stdin(Stdio::null());
        for (k, v) in &self.params {
            cmd.env(format!("OCF_RESKEY_{k}"), v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run restapi");
        Run {
            rc: out.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Live processes whose command line mentions this fixture's directory.
    fn processes(&self) -> Vec<i32> {
        testkit::processes_mentioning(&self.dir.path().display().to_string())
    }

    /// Start, asserting success.
    fn start(&self) -> i32 {
        let r = self.run("start", &[]);
        let log = std::fs::read_to_string(self.path("server.log")).unwrap_or_default();
        assert_eq!(r.rc, 0, "{r:?}\n{log}");
        self.pid().expect("pid file")
    }

    /// Monitor fails (1) with `process <pid> is alive but unhealthy: <health_url>: <why>`.
    fn assert_unhealthy(&self, pid: i32, why: &str) {
        let r = self.run("monitor", &[]);
        assert_eq!(r.rc, 1, "{r:?}");
        let url = format!("https://127.0.0.1:{}/health", self.port);
        assert_eq!(r.reason(), format!("process {pid} is alive but unhealthy: {url}: {why}"));
    }

    /// Start fails (1) within a short timeout with a reason ending in `why` (the last check's
    /// reason, then the closing parenthesis), and leaves nothing running.
    fn assert_start_fails(&self, why: &str) {
        let r = self.run("start", &[("OCF_RESKEY_CRM_meta_timeout", "3000")]);
        assert_eq!(r.rc, 1, "{r:?}");
        assert!(r.reason().ends_with(&format!("{why})")), "{r:?}");
        assert!(self.processes().is_empty(), "nothing left running");
        assert!(self.pid().is_none(), "no pid file left");
    }

    /// Stop, asserting success and that nothing is left.
    fn stop(&self) {
        let r = self.run("stop", &[]);
        assert_eq!(r.rc, 0, "{r:?}");
        assert!(self.processes().is_empty(), "nothing left running");
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        for pid in self.processes() {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
            let t0 = Instant::now();
            while !zombie(pid) && t0.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(10));
            }
            // Reparented to this test process (the subreaper): reap exactly that pid.
            let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
        }
    }
}

/// Gone or a zombie.
fn zombie(pid: i32) -> bool {
    let st = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    st.is_empty() || st.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z'))
}

/// Daemons outlive the agent that started them; as their subreaper this test reaps them.
fn become_subreaper() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        nix::sys::prctl::set_child_subreaper(true).expect("become a child subreaper");
    });
}

#[test]
#[ignore = "system: the openssl command (Debian package openssl); run by scripts/test.sh"]
fn verified_against_the_ca_file() {
    let mut f = Fixture::new("good");
    f.start();
    assert_eq!(f.run("monitor", &[]).rc, 0);
    // The certificate names localhost too; the same check by name.
    f.set("health_url", &format!("https://localhost:{}/health", f.port));
    assert_eq!(f.run("monitor", &[]).rc, 0);
    // A deep check over TLS as well.
    f.set("deep_url", &format!("https://127.0.0.1:{}/deep", f.port));
    assert_eq!(f.run("monitor", &[("OCF_CHECK_LEVEL", "10")]).rc, 0);
    f.stop();
}

#[test]
#[ignore = "system: the openssl command (Debian package openssl); run by scripts/test.sh"]
fn refused_without_the_ca_file() {
    let mut f = Fixture::new("good");
    let pid = f.start();
    // Without ca_file: the system trust store, which does not hold the test CA.
    f.unset("ca_file");
    let why = format!("TLS: the server's certificate is not signed by a CA in ca_file {SYSTEM_CA}");
    f.assert_unhealthy(pid, &why);
    f.stop();
    // start does not take the server for healthy either.
    f.assert_start_fails(&why);
}

#[test]
#[ignore = "system: the openssl command (Debian package openssl); run by scripts/test.sh"]
fn a_certificate_for_another_name_is_refused() {
    let mut f = Fixture::new("other");
    let why = "TLS: the server's certificate is not valid for 127.0.0.1 (it names \
               elsewhere.invalid, 10.9.9.9)";
    f.assert_start_fails(why);
    // Running (started without verification), the monitor refuses it the same way.
    f.set("insecure_skip_tls_verify", "true");
    let pid = f.start();
    f.unset("insecure_skip_tls_verify");
    f.assert_unhealthy(pid, why);
    f.stop();
}

#[test]
#[ignore = "system: the openssl command (Debian package openssl); run by scripts/test.sh"]
fn insecure_skip_tls_verify_accepts_any_certificate() {
    let mut f = Fixture::new("other");
    f.set("insecure_skip_tls_verify", "true");
    // Not even read.
    f.set("ca_file", "/nonexistent/ca.pem");
    let r = f.run("validate-all", &[]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(r.stderr.contains("certificates are not verified (insecure_skip_tls_verify)"), "{r:?}");
    f.start();
    assert_eq!(f.run("monitor", &[]).rc, 0);
    f.set("insecure_skip_tls_verify", "false");
    assert_eq!(f.run("monitor", &[]).rc, 1);
    f.stop();
}

#[test]
#[ignore = "system: the openssl command (Debian package openssl); run by scripts/test.sh"]
fn ca_file_is_checked_at_validation_for_https_only() {
    let mut f = Fixture::new("good");
    let not_pem = f.path("good.ext").display().to_string();
    let cases = [
        (
            "/nonexistent/ca.pem".to_owned(),
            2,
            "parameter 'ca_file': cannot read /nonexistent/ca.pem: No such file or directory (os \
             error 2)"
                .to_owned(),
        ),
        (
            not_pem.clone(),
            6,
            format!(
                "parameter 'ca_file': {not_pem} holds no PEM certificate (-----BEGIN \
                 CERTIFICATE-----)"
            ),
        ),
        (
            "ca.pem".to_owned(),
            6,
            "parameter 'ca_file' must be an absolute path, not 'ca.pem'".to_owned(),
        ),
    ];
    for (ca, rc, reason) in &cases {
        f.set("ca_file", ca);
        let r = f.run("validate-all", &[]);
        assert_eq!((r.rc, r.reason()), (*rc, reason.as_str()), "ca_file={ca}");
        assert_eq!(f.run("start", &[]).rc, *rc, "start with ca_file={ca}");
        assert!(f.processes().is_empty());
    }
    // An http:// URL never reads it.
    f.set("ca_file", "/nonexistent/ca.pem");
    f.set("health_url", &format!("http://127.0.0.1:{}/health", f.port));
    let r = f.run("validate-all", &[]);
    assert_eq!(r.rc, 0, "{r:?}");
}
