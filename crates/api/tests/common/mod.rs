//! Test fixtures: a private MariaDB (own datadir, socket and loopback port, stopped by its pid)
//! and a `ferroha-api` process (own config, secrets and log in a temporary directory).
// libc::kill and setsockopt on processes and sockets this module owns (SAFETY on each block).
#![allow(unsafe_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;

pub const API: &str = env!("CARGO_BIN_EXE_ferroha-api");
static SEQ: AtomicU32 = AtomicU32::new(0);

/// A unique name for this test process and call.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}{}_{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst))
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a pid this test started.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Poll `f` every 50 ms until it is true or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// A MariaDB server owned by the test: datadir in a temporary directory, loopback port.
pub struct Mariadb {
    pub child: Child,
    pub port: u16,
    pub socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Mariadb {
    pub fn start() -> Mariadb {
        let dir = tempfile::Builder::new().prefix("fhapi-db").tempdir_in("/tmp").expect("tempdir");
        let data = dir.path().join("data");
        // Own tmpdir: bootstraps running at the same time must not share /tmp's temp tables.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir(&tmp).expect("tmpdir");
        let out = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--user=root", "--auth-root-authentication-method=normal"])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .arg("--skip-test-db")
            .output()
            .expect("mariadb-install-db (Debian package mariadb-server) must be installed");
        assert!(out.status.success(), "install-db: {}", String::from_utf8_lossy(&out.stderr));
        let port = free_port();
        let socket = dir.path().join("sock");
        let child = Command::new("/usr/sbin/mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .arg(format!("--log-error={}", dir.path().join("err.log").display()))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--skip-name-resolve",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mariadbd");
        let db = Mariadb { child, port, socket, dir };
        let up = wait_until(Duration::from_secs(60), || db.root().is_ok());
        assert!(up, "mariadbd did not come up: {}", db.error_log());
        db
    }

    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("err.log")).unwrap_or_default()
    }

    /// A root connection over the socket.
    pub fn root(&self) -> Result<mysql::Conn, mysql::Error> {
        let opts = mysql::OptsBuilder::new()
            .socket(Some(self.socket.to_string_lossy().into_owned()))
            .user(Some("root"))
            .tcp_connect_timeout(Some(Duration::from_secs(2)));
        mysql::Conn::new(opts)
    }

    /// A database and a (non-SUPER) user that may use it only.
    pub fn database(&self, name: &str, user: &str, password: &str) {
        let mut c = self.root().expect("root connection");
        c.query_drop(format!("CREATE DATABASE {name}")).expect("create database");
        // 127.0.0.1 for TCP, localhost for the unix socket.
        for host in ["127.0.0.1", "localhost"] {
            c.query_drop(format!(
                "CREATE USER IF NOT EXISTS '{user}'@'{host}' IDENTIFIED BY '{password}'"
            ))
            .expect("create user");
            c.query_drop(format!("GRANT ALL ON {name}.* TO '{user}'@'{host}'")).expect("grant");
        }
    }

    /// A (non-SUPER) user with `grants` (e.g. `SELECT, INSERT`) on `name`.* (`*` for `*.*`),
    /// without creating the database. An empty `grants` makes a user with no privilege on it.
    pub fn user(&self, name: &str, user: &str, password: &str, grants: &str) {
        let mut c = self.root().expect("root connection");
        for host in ["127.0.0.1", "localhost"] {
            c.query_drop(format!(
                "CREATE USER IF NOT EXISTS '{user}'@'{host}' IDENTIFIED BY '{password}'"
            ))
            .expect("create user");
            if !grants.is_empty() {
                let on = if name == "*" { "*.*".to_owned() } else { format!("`{name}`.*") };
                c.query_drop(format!("GRANT {grants} ON {on} TO '{user}'@'{host}'"))
                    .expect("grant");
            }
        }
    }

    /// `SELECT COUNT(*) …` as root; None when it cannot be run.
    fn count(&self, sql: &str, params: impl Into<mysql::Params>) -> Option<u64> {
        let mut c = self.root().ok()?;
        c.exec_first(sql, params).ok().flatten()
    }

    /// Whether a statement of `user` waits in `state` (e.g. `Waiting for table metadata lock`).
    pub fn waits(&self, user: &str, state: &str) -> bool {
        let sql =
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ? AND STATE = ?";
        self.count(sql, (user, state)).unwrap_or(0) > 0
    }

    /// Whether a statement of `user` starting with `prefix` runs now.
    pub fn runs(&self, user: &str, prefix: &str) -> bool {
        let sql =
            "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = ? AND INFO LIKE ?";
        self.count(sql, (user, format!("{prefix}%"))).unwrap_or(0) > 0
    }

    pub fn has_database(&self, name: &str) -> bool {
        let sql = "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?";
        self.count(sql, (name,)).expect("schemata") > 0
    }

    pub fn has_table(&self, db: &str, table: &str) -> bool {
        let sql = "SELECT COUNT(*) FROM information_schema.TABLES \
                   WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?";
        self.count(sql, (db, table)).expect("tables") > 0
    }

    pub fn set_read_only(&self, on: bool) {
        let mut c = self.root().expect("root connection");
        c.query_drop(format!("SET GLOBAL read_only = {}", u8::from(on))).expect("set read_only");
    }
}

impl Drop for Mariadb {
    fn drop(&mut self) {
        let pid = self.child.id();
        signal(pid, libc::SIGCONT);
        signal(pid, libc::SIGTERM);
        let gone =
            wait_until(Duration::from_secs(30), || matches!(self.child.try_wait(), Ok(Some(_))));
        if !gone {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

static SHARED: Mutex<Weak<Mariadb>> = Mutex::new(Weak::new());

/// One MariaDB shared by the tests that run at the same time in this process; stopped when
/// the last of them drops it. Tests that change global settings use `Mariadb::start()` instead.
pub fn shared_db() -> Arc<Mariadb> {
    let mut slot = SHARED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(db) = slot.upgrade() {
        return db;
    }
    let db = Arc::new(Mariadb::start());
    *slot = Arc::downgrade(&db);
    db
}

/// Write a secret file, mode 0600.
pub fn secret(dir: &Path, name: &str, value: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("{value}\n")).expect("write secret");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    p
}

/// Write token, password and config files into `dir`; returns the config path, the listen
/// port and the token.
pub fn write_config(dir: &Path, target: &Target<'_>, extra: &str) -> (PathBuf, u16, String) {
    let token = unique("tok-Secret-");
    let token_file = secret(dir, "token", &token);
    let pw_file = secret(dir, "dbpw", target.password);
    let port = free_port();
    let conf = dir.join("api.conf");
    std::fs::write(
        &conf,
        format!(
            "# test config\nlisten = 127.0.0.1:{port}\ndb_host = 127.0.0.1\ndb_port = {}\n\
             db_user = {}\ndb_name = {}\ndb_password_file = {}\ntoken_file = {}\n\
             {}{extra}\n",
            target.port,
            target.user,
            target.db_name,
            pw_file.display(),
            token_file.display(),
            if extra.contains("db_timeout_ms") { "" } else { "db_timeout_ms = 1000\n" },
        ),
    )
    .expect("write config");
    (conf, port, token)
}

/// A running ferroha-api.
pub struct Api {
    pub child: Child,
    pub base: String,
    pub token: String,
    pub dir: tempfile::TempDir,
}

/// What the API connects to.
pub struct Target<'a> {
    pub port: u16,
    pub db_name: &'a str,
    pub user: &'a str,
    pub password: &'a str,
}

impl Api {
    /// Start against `target` with extra `key = value` config lines; waits for /health.
    pub fn start(target: &Target<'_>, extra: &str) -> Api {
        let dir = tempfile::tempdir().expect("tempdir");
        let (conf, port, token) = write_config(dir.path(), target, extra);
        let log = std::fs::File::create(dir.path().join("api.log")).expect("log");
        let child = Command::new(API)
            .arg("--config")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup"))
            .stderr(log)
            .spawn()
            .expect("start ferroha-api");
        let mut api = Api { child, base: format!("http://127.0.0.1:{port}"), token, dir };
        let up = wait_until(Duration::from_secs(30), || {
            matches!(api.child.try_wait(), Ok(Some(_))) || api.get("/health").0 == 200
        });
        assert!(up && api.get("/health").0 == 200, "ferroha-api did not come up: {}", api.log());
        api
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("api.log")).unwrap_or_default()
    }

    fn agent() -> ureq::Agent {
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(15)))
            .proxy(None)
            .build()
            .into()
    }

    fn finish(
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> (u16, serde_json::Value, ureq::http::HeaderMap) {
        let mut resp = r.expect("HTTP request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        let body = if text.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, body, headers)
    }

    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.get_with(path, None)
    }

    /// A GET with `token` (None: no Authorization header); status 0 when there is no answer.
    pub fn get_with(&self, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
        let mut req = Self::agent().get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        match req.call() {
            Ok(r) => {
                let (s, b, _) = Self::finish(Ok(r));
                (s, b)
            }
            Err(_) => (0, serde_json::Value::Null),
        }
    }

    /// A write with `token` (None: no Authorization header) and a raw body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        ctype: &str,
        body: &str,
    ) -> (u16, serde_json::Value, ureq::http::HeaderMap) {
        let url = format!("{}{path}", self.base);
        let mut req =
            ureq::http::Request::builder().method(method).uri(url).header("Content-Type", ctype);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        let req = req.body(body.to_owned()).expect("request");
        Self::finish(Self::agent().run(req))
    }

    pub fn write(
        &self,
        method: &str,
        path: &str,
        body: &str,
    ) -> (u16, serde_json::Value, ureq::http::HeaderMap) {
        self.send(method, path, Some(&self.token.clone()), "application/json", body)
    }

    /// SIGTERM and wait; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        signal(self.child.id(), libc::SIGTERM);
        self.wait_exit()
    }

    /// Wait (at most 20 s) for the process to exit; returns the exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A TCP relay on a loopback port to `target`, so a test can break the API's database
/// connections while a query runs. New connections keep being relayed after a cut.
pub struct Relay {
    pub port: u16,
    pairs: Arc<Mutex<Vec<(TcpStream, TcpStream)>>>,
    stop: Arc<AtomicBool>,
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16384];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

impl Relay {
    pub fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("relay bind");
        let port = listener.local_addr().expect("addr").port();
        let pairs: Arc<Mutex<Vec<(TcpStream, TcpStream)>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (registry, stopped) = (Arc::clone(&pairs), Arc::clone(&stop));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else { continue };
                let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) = (
                    client.try_clone(),
                    server.try_clone(),
                    client.try_clone(),
                    server.try_clone(),
                ) else {
                    continue;
                };
                std::thread::spawn(move || pump(c2, s2));
                std::thread::spawn(move || pump(s3, c3));
                registry.lock().unwrap_or_else(|e| e.into_inner()).push((client, server));
            }
        });
        Relay { port, pairs, stop }
    }

    /// Break every relayed connection: with `reset`, the API's side gets a TCP RST (as from a
    /// rebooted or fenced host), otherwise a FIN (as from a server that closed it).
    pub fn cut(&self, reset: bool) {
        let pairs = std::mem::take(&mut *self.pairs.lock().unwrap_or_else(|e| e.into_inner()));
        for (client, server) in &pairs {
            if reset {
                let linger = libc::linger { l_onoff: 1, l_linger: 0 };
                // SAFETY: setsockopt on a socket this relay owns, with a valid linger struct.
                unsafe {
                    libc::setsockopt(
                        client.as_raw_fd(),
                        libc::SOL_SOCKET,
                        libc::SO_LINGER,
                        (&linger as *const libc::linger).cast(),
                        std::mem::size_of::<libc::linger>() as libc::socklen_t,
                    );
                }
            }
            // Reading shut down wakes both pumps without sending anything; each drops its
            // clones, and the last close sends the RST (linger 0) or the FIN.
            let _ = client.shutdown(Shutdown::Read);
            let _ = server.shutdown(Shutdown::Read);
            if !reset {
                let _ = client.shutdown(Shutdown::Write);
            }
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.cut(false);
        // Wake the accept loop so it sees the stop flag and returns.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Whether a socket listening on (or accepted at) local `port` holds unread bytes: a query sent
/// to a stopped server sits there. Read from /proc/net/tcp.
pub fn unread_bytes_at(port: u16) -> bool {
    let text = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    text.lines().skip(1).any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        let local_port = f
            .get(1)
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| u16::from_str_radix(p, 16).ok());
        let rx = f
            .get(4)
            .and_then(|q| q.split(':').nth(1))
            .and_then(|r| u64::from_str_radix(r, 16).ok());
        local_port == Some(port) && rx.is_some_and(|r| r > 0)
    })
}
