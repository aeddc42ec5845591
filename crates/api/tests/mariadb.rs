//! `ferroha-api` against a real MariaDB that the test starts (own datadir, socket and loopback
//! port; stopped by its pid). Needs `mariadb-server` installed and root (mariadbd --user=root):
//! system tests, ignored unless `--include-ignored` (scripts/test.sh runs them). The config
//! checks need neither.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Api, Mariadb, Target, free_port, shared_db, unique};
use serde_json::json;

const PW: &str = "db-Pw-7f3a9c";

/// An own server (for tests that change global settings, lock tables or stop it) with a
/// database and user "api".
fn own_server() -> (Mariadb, String) {
    let db = Mariadb::start();
    let name = unique("t");
    db.database(&name, "api", PW);
    (db, name)
}

/// Create a record; its id.
fn post(api: &Api, name: &str) -> u64 {
    let (s, b, _) = api.write("POST", "/v1/records", &format!(r#"{{"name":"{name}"}}"#));
    assert_eq!(s, 201, "{b}");
    b["id"].as_u64().expect("id")
}

/// A fresh database and user on the shared server, and an API on it.
fn api_on_shared(extra: &str) -> (std::sync::Arc<Mariadb>, Api) {
    let db = shared_db();
    let name = unique("t");
    db.database(&name, "api", PW);
    let api =
        Api::start(&Target { port: db.port, db_name: &name, user: "api", password: PW }, extra);
    (db, api)
}

#[test]
#[ignore = "system: root + mariadbd, mariadb-install-db (Debian mariadb-server); run by scripts/test.sh"]
fn crud_and_paging() {
    let (_db, api) = api_on_shared("");
    let (s, body, headers) = api.write("POST", "/v1/records", r#"{"name":"alpha","data":{"n":1}}"#);
    assert_eq!(s, 201, "{body}");
    let id1 = body["id"].as_u64().expect("id");
    assert_eq!(body["name"], "alpha");
    assert_eq!(body["data"], json!({"n": 1}));
    assert!(body["created_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{body}");
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("/v1/records/{id1}").as_str())
    );
    let (s, body, _) = api.write("POST", "/v1/records", r#"{"name":"beta"}"#);
    assert_eq!(s, 201);
    assert_eq!(body["data"], json!(null));
    let id2 = body["id"].as_u64().expect("id");
    let (s, body, _) = api.write("POST", "/v1/records", r#"{"name":"gamma","data":[1,"x"]}"#);
    assert_eq!(s, 201);
    let id3 = body["id"].as_u64().expect("id");

    let (s, body) = api.get(&format!("/v1/records/{id1}"));
    assert_eq!((s, body["name"].clone()), (200, json!("alpha")));

    let (s, page) = api.get("/v1/records?limit=2");
    assert_eq!(s, 200, "{page}");
    let ids: Vec<u64> =
        page["items"].as_array().expect("items").iter().filter_map(|r| r["id"].as_u64()).collect();
    assert_eq!(ids, [id1, id2]);
    assert_eq!(page["next_after"], json!(id2));
    let (_, page) = api.get(&format!("/v1/records?limit=2&after={id2}"));
    let ids: Vec<u64> =
        page["items"].as_array().expect("items").iter().filter_map(|r| r["id"].as_u64()).collect();
    assert_eq!(ids, [id3]);
    assert_eq!(page["next_after"], json!(null));

    let (s, body, _) =
        api.write("PUT", &format!("/v1/records/{id2}"), r#"{"name":"beta2","data":true}"#);
    assert_eq!(s, 200, "{body}");
    assert_eq!((body["name"].clone(), body["data"].clone()), (json!("beta2"), json!(true)));
    assert_eq!(api.get(&format!("/v1/records/{id2}")).1["name"], "beta2");

    let (s, _, _) = api.write("DELETE", &format!("/v1/records/{id1}"), "");
    assert_eq!(s, 204);
    let (s, body) = api.get(&format!("/v1/records/{id1}"));
    assert_eq!((s, body["error"].clone()), (404, json!("not_found")));
    assert_eq!(body["message"], format!("record {id1} does not exist"));
    assert_eq!(api.write("DELETE", &format!("/v1/records/{id1}"), "").0, 404);
    assert_eq!(api.write("PUT", "/v1/records/999999", r#"{"name":"x"}"#).0, 404);
    assert!(
        api.log().contains(r#""method":"POST","msg":"request","path":"/v1/records""#)
            || api.log().contains(r#""path":"/v1/records""#)
    );
}

#[test]
#[ignore = "system: root + mariadbd, mariadb-install-db (Debian mariadb-server); run by scripts/test.sh"]
fn bad_input_gets_4xx_with_json_bodies() {
    let (_db, api) = api_on_shared("body_limit = 1024\npage_max = 20");
    let cases: &[(&str, &str, &str, &str, u16, &str)] = &[
        ("POST", "/v1/records", "application/json", "{\"name\":", 400, "malformed_json"),
        ("POST", "/v1/records", "application/json", "not json", 400, "malformed_json"),
        ("POST", "/v1/records", "application/json", r#"{"name":5}"#, 422, "invalid_record"),
        ("POST", "/v1/records", "application/json", r#"["name"]"#, 422, "invalid_record"),
        ("POST", "/v1/records", "application/json", r#"{"data":1}"#, 422, "invalid_record"),
        ("POST", "/v1/records", "application/json", r#"{"name":"a","x":1}"#, 422, "invalid_record"),
        ("POST", "/v1/records", "application/json", r#"{"name":""}"#, 422, "invalid_record"),
        ("POST", "/v1/records", "text/plain", r#"{"name":"a"}"#, 415, "unsupported_media_type"),
        ("PUT", "/v1/records/abc", "application/json", r#"{"name":"a"}"#, 400, "bad_id"),
        ("PUT", "/v1/records/0", "application/json", r#"{"name":"a"}"#, 400, "bad_id"),
        (
            "PATCH",
            "/v1/records/1",
            "application/json",
            r#"{"name":"a"}"#,
            405,
            "method_not_allowed",
        ),
    ];
    for (method, path, ctype, body, status, code) in cases {
        let (s, b, _) = api.send(method, path, Some(&api.token), ctype, body);
        assert_eq!((s, b["error"].as_str()), (*status, Some(*code)), "{method} {path} {body}: {b}");
        assert!(b["message"].as_str().is_some_and(|m| !m.is_empty()), "{b}");
    }
    let big = format!(r#"{{"name":"a","data":"{}"}}"#, "x".repeat(2000));
    let (s, b, _) = api.write("POST", "/v1/records", &big);
    assert_eq!((s, b["error"].as_str()), (413, Some("body_too_large")), "{b}");
    for (q, code) in [
        ("limit=0", "bad_query"),
        ("limit=21", "bad_query"),
        ("after=x", "bad_query"),
        ("page=2", "bad_query"),
    ] {
        let (s, b) = api.get(&format!("/v1/records?{q}"));
        assert_eq!((s, b["error"].as_str()), (400, Some(code)), "{q}: {b}");
    }
    let (s, b) = api.get("/v1/records/77777");
    assert_eq!((s, b["error"].as_str()), (404, Some("not_found")));
    let (s, b) = api.get("/nope");
    assert_eq!((s, b["error"].as_str()), (404, Some("no_route")));
    // Nothing was stored by any of these.
    assert_eq!(api.get("/v1/records").1["items"], json!([]));
}

#[test]
#[ignore = "system: root + mariadbd, mariadb-install-db (Debian mariadb-server); run by scripts/test.sh"]
fn writes_need_the_token() {
    let (_db, api) = api_on_shared("");
    let (s, b, h) = api.send("POST", "/v1/records", None, "application/json", r#"{"name":"a"}"#);
    assert_eq!((s, b["error"].as_str()), (401, Some("unauthorized")));
    assert_eq!(h.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    let (s, _, _) =
        api.send("POST", "/v1/records", Some("wrong"), "application/json", r#"{"name":"a"}"#);
    assert_eq!(s, 401);
    let prefix = &api.token[..api.token.len() - 1];
    assert_eq!(
        api.send("POST", "/v1/records", Some(prefix), "application/json", r#"{"name":"a"}"#).0,
        401
    );
    let (s, b, _) = api.write("POST", "/v1/records", r#"{"name":"a"}"#);
    assert_eq!(s, 201);
    let id = b["id"].as_u64().expect("id");
    assert_eq!(
        api.send("PUT", &format!("/v1/records/{id}"), None, "application/json", r#"{"name":"b"}"#)
            .0,
        401
    );
    assert_eq!(
        api.send("DELETE", &format!("/v1/records/{id}"), Some("wrong"), "application/json", "").0,
        401
    );
    // Reads are open by default (reads_need_token = false); the record is unchanged.
    assert_eq!(api.get(&format!("/v1/records/{id}")).1["name"], "a");
}

#[test]
#[ignore = "system: root + mariadbd, mariadb-install-db (Debian mariadb-server); run by scripts/test.sh"]
fn ready_follows_read_only_and_database_down() {
    use mysql::prelude::Queryable;
    // Own server: read_only is global, and this test stops the server.
    let db = Mariadb::start();
    let name = unique("t");
    db.database(&name, "api", PW);
    let api = Api::start(&Target { port: db.port, db_name: &name, user: "api", password: PW }, "");
    let (s, b) = api.get("/ready");
    assert_eq!((s, b["status"].as_str()), (200, Some("ready")), "{b}");

    db.set_read_only(true);
    let (s, b) = api.get("/ready");
    assert_eq!((s, b["error"].as_str()), (503, Some("database_read_only")), "{b}");
    let (s, b, _) = api.write("POST", "/v1/records", r#"{"name":"a"}"#);
    assert_eq!((s, b["error"].as_str()), (503, Some("database_read_only")), "{b}");
    assert_eq!(api.get("/health").0, 200, "the process itself is fine");
    // Reads still work, also for an API started while the server is read-only.
    assert_eq!(api.get("/v1/records").0, 200);
    let late = Api::start(&Target { port: db.port, db_name: &name, user: "api", password: PW }, "");
    assert_eq!(late.get("/v1/records").0, 200, "{}", late.log());
    assert_eq!(late.get("/ready").0, 503);
    // A missing database is not created while the server is read-only, even by a user whom
    // read_only does not stop: tried again later.
    let missing = unique("m");
    db.user(&missing, "maker", PW, "ALL");
    db.user(&missing, "admin", PW, "ALL");
    db.user("*", "admin", PW, "READ_ONLY ADMIN");
    let target = |user| Target { port: db.port, db_name: &missing, user, password: PW };
    let (maker, admin) = (Api::start(&target("maker"), ""), Api::start(&target("admin"), ""));
    for (api, path) in [(&maker, "/ready"), (&maker, "/v1/records"), (&admin, "/v1/records")] {
        let (s, b) = api.get(path);
        assert_eq!((s, b["error"].as_str()), (503, Some("database_read_only")), "{path}: {b}");
    }
    assert!(!db.has_database(&missing), "created on a read-only server: {}", admin.log());
    // Nor its tables in an empty database.
    let empty = unique("e");
    db.user(&empty, "admin", PW, "ALL");
    db.root().expect("root").query_drop(format!("CREATE DATABASE `{empty}`")).expect("create");
    let on_empty = Api::start(&Target { db_name: &empty, ..target("admin") }, "");
    assert_eq!(on_empty.get("/ready").0, 503);
    assert!(!db.has_table(&empty, "records"), "created on a read-only server");
    db.set_read_only(false);
    assert_eq!(api.get("/ready").0, 200);
    assert_eq!(late.get("/ready").0, 200);
    assert_eq!(maker.get("/ready").0, 200, "{}", maker.log());
    assert!(maker.log().contains("database created"), "{}", maker.log());
    assert_eq!(api.write("POST", "/v1/records", r#"{"name":"a"}"#).0, 201);

    let quick = Api::start(
        &Target { port: db.port, db_name: &name, user: "api", password: PW },
        "request_timeout_ms = 300\ndb_timeout_ms = 5000",
    );
    assert_eq!(quick.get("/ready").0, 200);
    // A hung server (SIGSTOP): /ready answers 503 within the db timeout, not never.
    common::signal(db.child.id(), libc::SIGSTOP);
    let t0 = Instant::now();
    let (s, _) = api.get("/ready");
    let took = t0.elapsed();
    // A request timeout shorter than the database timeout answers 503 `timeout`.
    let (s2, b2, _) = quick.write("POST", "/v1/records", r#"{"name":"slow"}"#);
    let took2 = t0.elapsed() - took;
    common::signal(db.child.id(), libc::SIGCONT);
    assert_eq!(s, 503);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!((s2, b2["error"].as_str()), (503, Some("timeout")), "{b2}");
    assert!(took2 < Duration::from_secs(3), "took {took2:?}");

    drop(db);
    let (s, b) = api.get("/ready");
    assert_eq!((s, b["error"].as_str()), (503, Some("database_unavailable")), "{b}");
    assert_eq!(api.get("/health").0, 200);
}

#[test]
#[ignore = "system: root + mariadbd, mariadb-install-db (Debian mariadb-server); run by scripts/test.sh"]
fn starts_without_database_then_creates_schema() {
    // The API comes up and answers /health while its database is unreachable.
    let dead = free_port();
    let api = Api::start(&Target { port: dead, db_name: "x", user: "api", password: PW }, "");
    assert_eq!(api.get("/health").0, 200);
    let (s, b) = api.get("/ready");
    assert_eq!((s, b["error"].as_str()), (503, Some("database_unavailable")), "{b}");
    let (s, b) = api.get("/v1/records");
    assert_eq!((s, b["error"].as_str()), (503, Some("database_unavailable")));
    // Against an empty database the first request creates the table.
    let (db, api) = api_on_shared("");
    let _ = db;
    assert_eq!(api.get("/v1/records").1["items"], json!([]));
    assert_eq!(api.get("/ready").0, 200);
}

#[test]
#[ignore = "system: root + mariadbd, mariadb-install-db (Debian mariadb-server); run by scripts/test.sh"]
fn secrets_stay_off_argv_and_out_of_logs() {
    let (_db, mut api) = api_on_shared("");
    assert_eq!(api.write("POST", "/v1/records", r#"{"name":"a"}"#).0, 201);
    assert_eq!(
        api.send("POST", "/v1/records", Some("wrong-token"), "application/json", "{}").0,
        401
    );
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(cmd) = std::fs::read(entry.path().join("cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd);
            assert!(!cmd.contains(&api.token), "token on a command line: {cmd}");
            assert!(!cmd.contains(PW), "password on a command line: {cmd}");
        }
    }
    assert_eq!(api.terminate(), Some(0), "graceful exit on SIGTERM: {}", api.log());
    let log = api.log();
    assert!(log.contains("shutting down"), "{log}");
    assert!(
        !log.contains(&api.token) && !log.contains(PW) && !log.contains("wrong-token"),
        "{log}"
    );
    for line in log.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not a JSON line: {line}"));
        assert!(v["ts"].is_number() && v["level"].is_string() && v["msg"].is_string(), "{line}");
    }
    let req = log.lines().find(|l| l.contains("\"request\"")).expect("request line");
    let v: serde_json::Value = serde_json::from_str(req).expect("json");
    assert!(
        v["method"].is_string()
            && v["path"].is_string()
            && v["status"].is_u64()
            && v["ms"].is_number(),
        "{req}"
    );
}

#[test]
fn refuses_open_secret_files_and_bad_config() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tok = common::secret(dir.path(), "token", "t0k");
    std::fs::set_permissions(&tok, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .expect("chmod");
    let out = Command::new(common::API).arg("--token-file").arg(&tok).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("token_file") && err.contains("mode 0644"), "{err}");
    let out = Command::new(common::API).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("token_file: is required"));
    let conf = dir.path().join("c.conf");
    std::fs::write(&conf, "listen = 127.0.0.1:1\nbogus = 1\n").expect("write");
    let out = Command::new(common::API).arg("-c").arg(&conf).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown key 'bogus'"));
}

#[test]
#[ignore = "system: root + mariadbd, mariadb-install-db (Debian mariadb-server); run by scripts/test.sh"]
fn sigterm_drains_in_flight_requests() {
    // Own server: it is stopped to hold a request in flight.
    let db = Mariadb::start();
    let name = unique("t");
    db.database(&name, "api", PW);
    let mut api = Api::start(
        &Target { port: db.port, db_name: &name, user: "api", password: PW },
        "request_timeout_ms = 30000\ndb_timeout_ms = 30000",
    );
    assert_eq!(api.get("/v1/records").0, 200);
    let port: u16 = api.base.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    common::signal(db.child.id(), libc::SIGSTOP);
    let status = std::thread::scope(|s| {
        let api_ref = &api;
        let inflight = s.spawn(move || api_ref.get("/v1/records").0);
        // The request is in flight once its query waits unread at the stopped server.
        let held = common::wait_until(Duration::from_secs(10), || common::unread_bytes_at(db.port));
        common::signal(api_ref.child.id(), libc::SIGTERM);
        // Shutdown has begun once the listener is closed.
        let closed = common::wait_until(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
        });
        common::signal(db.child.id(), libc::SIGCONT);
        let status = inflight.join().expect("request thread");
        assert!(held, "the request never reached the database");
        assert!(closed, "the listener stayed open after SIGTERM");
        status
    });
    assert_eq!(status, 200, "the in-flight request completed: {}", api.log());
    assert_eq!(api.wait_exit(), Some(0), "{}", api.log());
}

#[test]
#[ignore = "system: root + mariadbd, mariadb-install-db (Debian mariadb-server); run by scripts/test.sh"]
fn connects_over_the_unix_socket() {
    let db = shared_db();
    let name = unique("t");
    db.database(&name, "api", PW);
    // db_port points nowhere: only the socket can work.
    let extra = format!("db_socket = {}", db.socket.display());
    let api = Api::start(
        &Target { port: free_port(), db_name: &name, user: "api", password: PW },
        &extra,
    );
    assert_eq!(api.get("/ready").0, 200, "{}", api.log());
    assert_eq!(api.write("POST", "/v1/records", r#"{"name":"via-socket"}"#).0, 201);
    assert!(api.log().contains(&format!(r#""db":"{}""#, db.socket.display())), "{}", api.log());
}

/// Run `request` in a thread; once the API's statement waits on a table lock the test holds,
/// run `meanwhile`; return the answer.
fn while_waiting_on_lock(
    db: &Mariadb,
    request: impl FnOnce() -> (u16, serde_json::Value) + Send,
    meanwhile: impl FnOnce(),
) -> (u16, serde_json::Value) {
    std::thread::scope(|s| {
        let answer = s.spawn(request);
        let held = common::wait_until(Duration::from_secs(10), || {
            db.waits("api", "Waiting for table metadata lock")
        });
        meanwhile();
        let answer = answer.join().expect("request thread");
        assert!(held, "the statement never waited on the lock");
        answer
    })
}

#[test]
#[ignore = "system: root + mariadbd, mariadb-install-db (Debian mariadb-server); run by scripts/test.sh"]
fn broken_and_hung_connections_answer_503() {
    use mysql::prelude::Queryable;
    // Own server: its tables are locked and it is stopped (SIGSTOP).
    let (db, name) = own_server();
    // The API reaches MariaDB through a relay that the test cuts.
    let relay = common::Relay::start(db.port);
    let target = Target { port: relay.port, db_name: &name, user: "api", password: PW };
    let api = Api::start(&target, "db_timeout_ms = 1000\nrequest_timeout_ms = 10000");
    let id = post(&api, "kept");
    let mut root = db.root().expect("root connection");
    let lock = format!("LOCK TABLES `{name}`.records WRITE");
    let unavailable = |what: &str, (s, b): (u16, serde_json::Value)| {
        assert_eq!((s, b["error"].as_str()), (503, Some("database_unavailable")), "{what}: {b}");
    };

    // The connection breaks while a statement runs: a TCP reset, then a FIN.
    for reset in [true, false] {
        root.query_drop(&lock).expect("lock");
        let answer = while_waiting_on_lock(&db, || api.get("/v1/records"), || relay.cut(reset));
        root.query_drop("UNLOCK TABLES").expect("unlock");
        unavailable(&format!("read, reset={reset}"), answer);
        root.query_drop(&lock).expect("lock");
        let (s, b) = while_waiting_on_lock(
            &db,
            || {
                let (s, b, _) = api.write("PUT", &format!("/v1/records/{id}"), r#"{"name":"x"}"#);
                (s, b)
            },
            || relay.cut(reset),
        );
        root.query_drop("UNLOCK TABLES").expect("unlock");
        assert!(b["message"].as_str().is_some_and(|m| m.contains("may have been applied")), "{b}");
        unavailable(&format!("write, reset={reset}"), (s, b));
        // The next request gets a new connection.
        assert_eq!(api.get("/v1/records").0, 200, "{}", api.log());
    }

    // A statement that outlasts db_timeout_ms (read timeout).
    root.query_drop(&lock).expect("lock");
    let answer = while_waiting_on_lock(&db, || api.get(&format!("/v1/records/{id}")), || {});
    root.query_drop("UNLOCK TABLES").expect("unlock");
    unavailable("read timeout", answer);

    // No pooled connection free within db_timeout_ms (pool wait): the only one is held by a
    // statement waiting on the lock.
    let one = Api::start(&target, "pool_max = 1\ndb_timeout_ms = 1000\nrequest_timeout_ms = 10000");
    assert_eq!(one.get("/v1/records").0, 200);
    root.query_drop(&lock).expect("lock");
    let (first, second) = std::thread::scope(|s| {
        let first = s.spawn(|| one.get("/v1/records"));
        let held = common::wait_until(Duration::from_secs(10), || {
            db.waits("api", "Waiting for table metadata lock")
        });
        let second = one.get("/v1/records");
        assert!(held, "the first statement never waited on the lock");
        (first.join().expect("request thread"), second)
    });
    root.query_drop("UNLOCK TABLES").expect("unlock");
    unavailable("pool wait", second.clone());
    assert!(second.1["message"].as_str().is_some_and(|m| m.contains("connection")), "{second:?}");
    unavailable("pool holder", first);

    // A hung server (SIGSTOP): the pooled connection's check and the reconnect time out.
    drop(root);
    common::signal(db.child.id(), libc::SIGSTOP);
    let read = api.get("/v1/records");
    let ready = api.get("/ready");
    common::signal(db.child.id(), libc::SIGCONT);
    unavailable("hung server, read", read);
    unavailable("hung server, /ready", ready);
    assert_eq!(api.get("/ready").0, 200, "{}", api.log());
    assert!(!api.log().contains("database_error"), "{}", api.log());
}

#[test]
#[ignore = "system: root + mariadbd, mariadb-install-db (Debian mariadb-server); run by scripts/test.sh"]
fn creates_its_database_or_names_the_missing_grant() {
    use mysql::prelude::Queryable;
    let db = shared_db();
    let start = |name: &str, user: &str| {
        Api::start(&Target { port: db.port, db_name: name, user, password: PW }, "")
    };
    let denied = |api: &Api, path: &str, grant: &str| {
        let (s, b) = api.get(path);
        assert_eq!((s, b["error"].as_str()), (503, Some("database_denied")), "{path}: {b}");
        let m = b["message"].as_str().unwrap_or("");
        assert_eq!(m, format!("the database user lacks {grant}"), "{path}: {}", api.log());
    };

    // May create it: the database is created, then the schema.
    let (name, user) = (unique("c"), unique("u"));
    db.user(&name, &user, PW, "SELECT, INSERT, UPDATE, DELETE, CREATE");
    let api = start(&name, &user);
    assert_eq!(api.get("/ready").0, 200, "{}", api.log());
    assert_eq!(api.write("POST", "/v1/records", r#"{"name":"a"}"#).0, 201);
    assert_eq!(api.log().matches("database created").count(), 1, "{}", api.log());

    // May not create it: /ready and every request name the grant, logged once.
    let (name, user) = (unique("c"), unique("u"));
    db.user(&name, &user, PW, "SELECT, INSERT, UPDATE, DELETE");
    let api = start(&name, &user);
    for _ in 0..3 {
        denied(&api, "/ready", &format!("CREATE on `{name}`.*"));
    }
    denied(&api, "/v1/records", &format!("CREATE on `{name}`.*"));
    assert_eq!(api.log().matches("missing grant").count(), 1, "{}", api.log());
    assert!(api.log().contains(&format!(r#""grant":"CREATE on `{name}`.*""#)), "{}", api.log());
    // Granted, the next request creates it.
    let mut root = db.root().expect("root connection");
    for host in ["127.0.0.1", "localhost"] {
        root.query_drop(format!("GRANT CREATE ON `{name}`.* TO '{user}'@'{host}'")).expect("grant");
    }
    assert_eq!(api.get("/ready").0, 200, "{}", api.log());

    // No privilege at all on it (MariaDB then hides whether it exists): every grant is named.
    let (name, user) = (unique("c"), unique("u"));
    db.user(&name, &user, PW, "");
    let api = start(&name, &user);
    denied(&api, "/ready", &format!("SELECT, INSERT, UPDATE, DELETE, CREATE on `{name}`.*"));

    // The database and schema exist, DELETE is missing: /ready says so before a client meets it.
    let (name, user) = (unique("c"), unique("u"));
    db.user(&name, &user, PW, "SELECT, INSERT, UPDATE, CREATE");
    let api = start(&name, &user);
    assert_eq!(api.get("/v1/records").0, 200, "{}", api.log());
    denied(&api, "/ready", &format!("DELETE on `{name}`.*"));
    let (s, b, _) = api.write("DELETE", "/v1/records/1", "");
    assert_eq!((s, b["error"].as_str()), (503, Some("database_denied")), "{b}");
}

#[test]
#[ignore = "system: root + mariadbd, mariadb-install-db (Debian mariadb-server); run by scripts/test.sh"]
fn a_connection_that_timed_out_is_not_reused() {
    use mysql::prelude::Queryable;
    // Own server: the test watches its sockets for a queued command.
    let (db, name) = own_server();
    let target = Target { port: db.port, db_name: &name, user: "api", password: PW };
    // One pooled connection, so the next request would get the same one back.
    let api = Api::start(&target, "pool_max = 1\ndb_timeout_ms = 1000\nrequest_timeout_ms = 10000");
    let id = post(&api, "before");
    let mut root = db.root().expect("root connection");
    root.query_drop("START TRANSACTION").expect("begin");
    root.exec_drop(format!("SELECT id FROM `{name}`.records WHERE id = ? FOR UPDATE"), (id,))
        .expect("row lock");
    let (s, b) = std::thread::scope(|sc| {
        let put = sc.spawn(|| {
            let (s, b, _) = api.write("PUT", &format!("/v1/records/{id}"), r#"{"name":"after"}"#);
            (s, b)
        });
        let waits =
            common::wait_until(Duration::from_secs(10), || db.runs("api", "UPDATE records"));
        // The UPDATE waits on the row lock and times out in the API. A connection handed back
        // to the pool gets a reset command, which queues, unread, behind the UPDATE; a
        // connection shut down gets nothing, and the PUT is answered.
        common::wait_until(Duration::from_secs(10), || {
            common::unread_bytes_at(db.port) || put.is_finished()
        });
        // Now the UPDATE can complete: its late reply, then the reply to anything queued.
        root.query_drop("COMMIT").expect("commit");
        let answer = put.join().expect("request thread");
        assert!(waits, "the UPDATE never ran: {answer:?} {}", api.log());
        answer
    });
    assert_eq!((s, b["error"].as_str()), (503, Some("database_unavailable")), "{b}");
    // The late replies must not be taken for the answers to later statements. (The UPDATE
    // itself may or may not have been applied, as the answer said.)
    for _ in 0..3 {
        let (s, b) = api.get(&format!("/v1/records/{id}"));
        assert_eq!(s, 200, "{b} {}", api.log());
        assert!(["before", "after"].contains(&b["name"].as_str().unwrap_or("")), "{b}");
        let (s, b) = api.get("/v1/records");
        assert_eq!((s, b["items"][0]["id"].as_u64()), (200, Some(id)), "{b} {}", api.log());
    }
}

#[test]
#[ignore = "system: root + mariadbd, mariadb-install-db (Debian mariadb-server); run by scripts/test.sh"]
fn reads_need_the_token_when_configured() {
    let (_db, api) = api_on_shared("reads_need_token = true");
    let id = post(&api, "a");
    for path in ["/v1/records".to_owned(), format!("/v1/records/{id}")] {
        let (s, b) = api.get(&path);
        assert_eq!((s, b["error"].as_str()), (401, Some("unauthorized")), "{path}: {b}");
        assert_eq!(b["message"], "reads need an Authorization: Bearer token");
        assert_eq!(api.get_with(&path, Some("wrong")).0, 401, "{path}");
        let (s, b) = api.get_with(&path, Some(&api.token));
        assert_eq!(s, 200, "{path}: {b}");
    }
    // The probes stay open: a health check carries no token.
    assert_eq!(api.get("/health").0, 200);
    assert_eq!(api.get("/ready").0, 200, "{}", api.log());
    assert!(!api.log().contains(&api.token), "{}", api.log());
}
