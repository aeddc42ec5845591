//! A lab of real mariadbd instances ("nodes" n1, n2, n3) driven through the agent binary.
//!
//! Each lab owns a temporary directory: one datadir per node (copied from a template made once
//! per test process under `target/tmp` with `mariadb-install-db` and `mariadbd --bootstrap`, so
//! every node has the same users and no GTID of its own), its own socket, pid file, error log, state directory and a
//! free loopback port. A recorder named `crm_attribute` first in the agent's PATH stands in for
//! Pacemaker's attribute store: it keeps each node's promotion score in a file. Servers are
//! stopped by the pid they wrote (never by name) when the lab is dropped.

#![allow(dead_code)]

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};

pub const AGENT: &str = env!("CARGO_BIN_EXE_mariadb");
static SEQ: AtomicU32 = AtomicU32::new(0);

/// The replication password of this test process: unique, with a quote and a backslash to
/// exercise escaping. Scanned for in every `/proc/*/cmdline` and in every log.
pub fn password() -> String {
    format!("Fh'pw\\{}-s3cr3t", std::process::id())
}

/// The template datadir of this test process, under cargo's per-target temporary directory
/// (`target/tmp`), named after our pid. Statics are never dropped, so templates of test
/// processes that are gone are removed when the next one starts.
fn template() -> &'static Path {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
        fs::create_dir_all(base).expect("target tmp");
        for e in fs::read_dir(base).expect("read target tmp").flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("mariadb-template-")
                && !Path::new(&format!("/proc/{pid}")).exists()
            {
                let _ = fs::remove_dir_all(e.path());
            }
        }
        let dir = base.join(format!("mariadb-template-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let data = dir.join("data");
        let out = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--user=root", "--skip-test-db", "--skip-name-resolve"])
            .arg("--innodb-log-file-size=4M")
            .arg(format!("--datadir={}", data.display()))
            .output()
            .expect("mariadb-install-db (Debian package mariadb-server)");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let pw = password().replace('\\', "\\\\").replace('\'', "\\'");
        let sql = format!(
            "USE mysql;\nFLUSH PRIVILEGES;\n\
             CREATE USER 'repl'@'%' IDENTIFIED BY '{pw}';\n\
             GRANT REPLICATION SLAVE, SLAVE MONITOR ON *.* TO 'repl'@'%';\n\
             CREATE DATABASE fh;\n\
             CREATE TABLE fh.t (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB;\n"
        );
        let mut child = Command::new("/usr/sbin/mariadbd")
            .args(["--no-defaults", "--bootstrap", "--user=root", "--skip-log-bin"])
            .arg("--innodb-log-file-size=4M")
            .arg(format!("--datadir={}", data.display()))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mariadbd --bootstrap");
        use std::io::Write;
        child.stdin.take().expect("stdin").write_all(sql.as_bytes()).expect("bootstrap sql");
        let out = child.wait_with_output().expect("bootstrap");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        data
    })
}

fn reserve_port() -> (u16, TcpListener) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    (l.local_addr().expect("addr").port(), l)
}

/// Assert that an agent run succeeded.
pub fn ok(r: &Run, what: &str) {
    assert_eq!(r.rc, 0, "{what}: {}", r.stderr);
}

/// Result of one agent run.
#[derive(Debug)]
pub struct Run {
    pub rc: i32,
    pub stderr: String,
}

impl Run {
    pub fn reason(&self) -> &str {
        self.stderr.lines().rev().find_map(|l| l.strip_prefix("ocf-exit-reason:")).unwrap_or("")
    }
}

pub struct Node {
    pub name: String,
    pub dir: PathBuf,
    pub port: u16,
    reserved: std::sync::Mutex<Option<TcpListener>>,
}

impl Node {
    pub fn socket(&self) -> String {
        self.dir.join("s.sock").display().to_string()
    }
    pub fn pid_file(&self) -> PathBuf {
        self.dir.join("mariadbd.pid")
    }
    pub fn pid(&self) -> Option<i32> {
        fs::read_to_string(self.pid_file()).ok()?.trim().parse().ok()
    }
    pub fn log(&self) -> PathBuf {
        self.dir.join("error.log")
    }
}

pub struct Lab {
    pub dir: tempfile::TempDir,
    pub nodes: Vec<Node>,
    pub params: Vec<(String, String)>,
    scan_stop: std::sync::Arc<AtomicBool>,
    scan: Option<thread::JoinHandle<Vec<String>>>,
    pub agent_output: std::sync::Mutex<String>,
}

/// Scan every process's command line for `needle` until told to stop; returns offenders.
fn scan_cmdlines(needle: String, stop: std::sync::Arc<AtomicBool>) -> Vec<String> {
    let mut found = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        if let Ok(rd) = fs::read_dir("/proc") {
            for e in rd.flatten() {
                let p = e.path().join("cmdline");
                if let Ok(b) = fs::read(&p)
                    && String::from_utf8_lossy(&b).contains(&needle)
                {
                    found.push(String::from_utf8_lossy(&b).replace('\0', " "));
                }
            }
        }
        thread::sleep(Duration::from_millis(20));
    }
    found
}

impl Lab {
    /// `n` nodes, with their datadirs ready (not started).
    pub fn new(n: usize, semi_sync: bool) -> Lab {
        let template = template();
        let seq = SEQ.fetch_add(1, Ordering::SeqCst);
        let dir = tempfile::Builder::new()
            .prefix(&format!("fh-mdb-{}-{seq}-", std::process::id()))
            .tempdir()
            .expect("tempdir");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
        let mut nodes = Vec::new();
        for i in 1..=n {
            let name = format!("n{i}");
            let ndir = dir.path().join(&name);
            fs::create_dir_all(&ndir).expect("node dir");
            let st = Command::new("cp")
                .arg("-a")
                .arg(template)
                .arg(ndir.join("data"))
                .status()
                .expect("cp");
            assert!(st.success());
            let (port, reserved) = reserve_port();
            // Each server its own tmpdir: servers of tests running at the same time do not
            // share /tmp's temporary tables, and a test can take a server's tmpdir away.
            let tmp = ndir.join("tmp");
            fs::create_dir(&tmp).expect("tmpdir");
            fs::write(
                ndir.join("my.cnf"),
                format!(
                    "[mariadbd]\nserver-id={i}\nlog-bin=fh-bin\nbind-address=127.0.0.1\n\
                     skip-name-resolve\ninnodb-buffer-pool-size=32M\nperformance-schema=OFF\n\
                     innodb-log-file-size=8M\nsync-binlog=1\ntmpdir={}\n",
                    tmp.display()
                ),
            )
            .expect("my.cnf");
            nodes.push(Node {
                name,
                dir: ndir,
                port,
                reserved: std::sync::Mutex::new(Some(reserved)),
            });
        }
        let pwfile = dir.path().join("repl.pw");
        fs::write(&pwfile, format!("{}\n", password())).expect("pw");
        fs::set_permissions(&pwfile, fs::Permissions::from_mode(0o600)).expect("chmod");
        let rec = dir.path().join("bin");
        fs::create_dir_all(&rec).expect("bin");
        let script = format!(
            "#!/bin/sh\n# Stand-in for Pacemaker's attribute store (test only).\n\
             d={}\nnode=; op=; val=\n\
             for a in \"$@\"; do case \"$a\" in --node=*) node=${{a#--node=}};; \
             --update) op=u;; --delete) op=d;; --query) op=q;; \
             *) if [ \"$op\" = u ] && [ -z \"$val\" ]; then val=$a; fi;; esac; done\n\
             echo \"$*\" >> \"$d/calls\"\n\
             case $op in u) echo \"$val\" > \"$d/score.$node\";; d) rm -f \"$d/score.$node\";; \
             q) cat \"$d/score.$node\" 2>/dev/null || exit 1;; esac\n",
            dir.path().display()
        );
        fs::write(rec.join("crm_attribute"), script).expect("recorder");
        fs::set_permissions(rec.join("crm_attribute"), fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let map: Vec<String> =
            nodes.iter().map(|n| format!("{}=127.0.0.1:{}", n.name, n.port)).collect();
        let params = vec![
            ("user".into(), "root".into()),
            ("group".into(), "root".into()),
            ("replication_user".into(), "repl".into()),
            ("replication_passwd_file".into(), pwfile.display().to_string()),
            ("node_map".into(), map.join(" ")),
            ("semi_sync".into(), semi_sync.to_string()),
            ("peer_timeout".into(), "2".into()),
        ];
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let scan = thread::spawn(move || scan_cmdlines(password(), s2));
        Lab {
            dir,
            nodes,
            params,
            scan_stop: stop,
            scan: Some(scan),
            agent_output: std::sync::Mutex::new(String::new()),
        }
    }

    /// Give up the reservation of `node`'s port (before something other than [`Lab::agent`]
    /// starts its server).
    pub fn release_port(&self, node: &str) {
        self.node(node).reserved.lock().map(|mut r| r.take()).ok();
    }

    pub fn node(&self, name: &str) -> &Node {
        self.nodes.iter().find(|n| n.name == name).expect("node")
    }

    /// Per-node parameters.
    pub fn node_params(&self, n: &Node) -> Vec<(String, String)> {
        let mut p = self.params.clone();
        p.extend([
            ("config".into(), n.dir.join("my.cnf").display().to_string()),
            ("datadir".into(), n.dir.join("data").display().to_string()),
            ("socket".into(), n.socket()),
            ("pid".into(), n.pid_file().display().to_string()),
            ("log".into(), n.log().display().to_string()),
            ("port".into(), n.port.to_string()),
            ("state_dir".into(), n.dir.join("state").display().to_string()),
        ]);
        p
    }

    /// Run the agent for `node` with clone metas plus `extra` environment.
    pub fn agent(&self, node: &str, action: &str, extra: &[(&str, &str)]) -> Run {
        let n = self.node(node);
        if action == "start" {
            n.reserved.lock().map(|mut r| r.take()).ok();
        }
        let mut cmd = Command::new(AGENT);
        let path =
            format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", self.dir.path().join("bin").display());
        cmd.arg(action)
            .env_clear()
            .env("PATH", path)
            .env("OCF_ROOT", "/usr/lib/ocf")
            .env("OCF_RESOURCE_INSTANCE", "db")
            .env("OCF_RESKEY_CRM_meta_on_node", node)
            .env("OCF_RESKEY_CRM_meta_promotable", "true")
            .env("OCF_RESKEY_CRM_meta_notify", "true")
            .env("OCF_RESKEY_CRM_meta_clone_max", self.nodes.len().to_string())
            .env("OCF_RESKEY_CRM_meta_timeout", "60000")
            .env("OCF_RESKEY_CRM_meta_interval", if action == "monitor" { "10000" } else { "0" });
        let mut params = self.node_params(n);
        for (k, v) in extra {
            if let Some(p) = k.strip_prefix("OCF_RESKEY_") {
                params.retain(|(pk, _)| pk != p);
            }
            let _ = v;
        }
        for (k, v) in &params {
            cmd.env(format!("OCF_RESKEY_{k}"), v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run agent");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if let Ok(mut all) = self.agent_output.lock() {
            all.push_str(&stderr);
        }
        Run { rc: out.status.code().unwrap_or(-1), stderr }
    }

    /// As Pacemaker brings a clone up: every instance starts read-only, n1 is promoted, the
    /// others get the post-promote notification and replicate from it.
    pub fn primary_with_replicas(&self) {
        // Free every reserved port first: a peer check against a port that is still held (but
        // not served) would wait for peer_timeout.
        for n in &self.nodes {
            self.release_port(&n.name);
        }
        for n in &self.nodes {
            ok(&self.start(&n.name), "start");
        }
        ok(&self.agent("n1", "promote", &[]), "promote n1");
        for n in self.nodes.iter().skip(1) {
            ok(&self.notify_promoted(&n.name, "n1"), "notify replica");
        }
    }

    /// A clone of `n` nodes, n1 primary, with `rows` rows inserted on n1 and replicated to all.
    pub fn replicating(n: usize, semi_sync: bool, rows: u32) -> Lab {
        let lab = Lab::new(n, semi_sync);
        lab.primary_with_replicas();
        lab.insert("n1", 0..rows);
        for node in lab.nodes.iter().skip(1) {
            lab.wait_count(&node.name, u64::from(rows));
        }
        lab
    }

    /// Two nodes: n1 commits `extra` transactions n2 never receives and dies; n2 is promoted
    /// and commits `after`; then n1 comes back. Returns the lab and n1's start with n2 as the
    /// primary, which must refuse it.
    pub fn diverged_old_primary(extra: u32, after: u32) -> (Lab, Run) {
        let lab = Lab::new(2, false);
        lab.primary_with_replicas();
        lab.insert("n1", 0..5);
        lab.wait_count("n2", 5);
        // Partition: n2 stops hearing from n1, which commits more, then dies.
        lab.sql("n2").query_drop("STOP SLAVE").expect("stop slave");
        lab.insert("n1", 5..5 + extra);
        lab.kill("n1");
        ok(&lab.agent("n2", "promote", &[]), "promote n2");
        lab.insert("n2", 100..100 + after);
        let r = lab.start_with_primary("n1", "n2");
        (lab, r)
    }

    /// Start a node as the clone's first instance (no primary known yet).
    pub fn start(&self, node: &str) -> Run {
        self.agent(node, "start", &[])
    }

    /// Start a node while `primary` is promoted (Pacemaker's notify variables on start).
    pub fn start_with_primary(&self, node: &str, primary: &str) -> Run {
        self.agent(node, "start", &[("OCF_RESKEY_CRM_meta_notify_promoted_uname", primary)])
    }

    /// The post-promote notification of `promoted` delivered to `node`.
    pub fn notify_promoted(&self, node: &str, promoted: &str) -> Run {
        self.agent(
            node,
            "notify",
            &[
                ("OCF_RESKEY_CRM_meta_notify_type", "post"),
                ("OCF_RESKEY_CRM_meta_notify_operation", "promote"),
                ("OCF_RESKEY_CRM_meta_notify_promote_resource", "db:0"),
                ("OCF_RESKEY_CRM_meta_notify_promote_uname", promoted),
            ],
        )
    }

    /// The score the recorder holds for `node`.
    pub fn score(&self, node: &str) -> Option<i64> {
        fs::read_to_string(self.dir.path().join(format!("score.{node}")))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }

    /// Number of `crm_attribute` calls so far.
    pub fn attribute_calls(&self) -> usize {
        fs::read_to_string(self.dir.path().join("calls")).map(|s| s.lines().count()).unwrap_or(0)
    }

    /// A root connection over `node`'s socket.
    pub fn sql(&self, node: &str) -> Conn {
        let n = self.node(node);
        let opts = OptsBuilder::new()
            .socket(Some(n.socket()))
            .user(Some("root"))
            .read_timeout(Some(Duration::from_secs(30)))
            .write_timeout(Some(Duration::from_secs(30)));
        Conn::new(opts).expect("connect as root")
    }

    pub fn count(&self, node: &str) -> u64 {
        let mut c = self.sql(node);
        c.query_first::<u64, _>("SELECT COUNT(*) FROM fh.t").expect("count").unwrap_or(0)
    }

    /// Wait until `node` has `want` rows (replication caught up).
    pub fn wait_count(&self, node: &str, want: u64) {
        let t0 = Instant::now();
        loop {
            let got = self.count(node);
            if got == want {
                return;
            }
            assert!(t0.elapsed() < Duration::from_secs(60), "{node}: {got} rows, want {want}");
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn insert(&self, node: &str, ids: std::ops::Range<u32>) {
        let mut c = self.sql(node);
        for id in ids {
            c.exec_drop("INSERT INTO fh.t VALUES (?, ?)", (id, format!("{node}-{id}")))
                .expect("insert");
        }
    }

    /// SIGKILL a node's mariadbd by the pid it wrote, and wait until it is gone: reaped, or a
    /// zombie (state Z or X in `/proc/<pid>/stat`, which is what decides, not whether
    /// `/proc/<pid>/cmdline` can still be read).
    pub fn kill(&self, node: &str) {
        let pid = self.node(node).pid().expect("pid");
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let t0 = Instant::now();
        while ocf::proc::stat(pid).is_some_and(|s| s.alive()) {
            assert!(t0.elapsed() < Duration::from_secs(20), "pid {pid} survived SIGKILL");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop scanning and assert that the password was never on a command line nor in any
    /// error log or agent output.
    pub fn assert_no_password_leak(&mut self) {
        self.scan_stop.store(true, Ordering::SeqCst);
        let found = self.scan.take().map(|h| h.join().expect("scanner")).unwrap_or_default();
        assert!(found.is_empty(), "password on a command line: {found:?}");
        let pw = password();
        for n in &self.nodes {
            let log = fs::read_to_string(n.log()).unwrap_or_default();
            assert!(!log.contains(&pw), "password in {}", n.log().display());
        }
        let out = self.agent_output.lock().map(|s| s.clone()).unwrap_or_default();
        assert!(!out.contains(&pw), "password in agent output");
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.scan_stop.store(true, Ordering::SeqCst);
        for n in &self.nodes {
            if let Some(pid) = n.pid() {
                let ours = fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|b| String::from_utf8_lossy(&b).contains(&n.dir.display().to_string()))
                    .unwrap_or(false);
                if ours {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                    let t0 = Instant::now();
                    while ocf::proc::stat(pid).is_some_and(|s| s.alive())
                        && t0.elapsed() < Duration::from_secs(10)
                    {
                        thread::sleep(Duration::from_millis(20));
                    }
                }
            }
        }
    }
}
