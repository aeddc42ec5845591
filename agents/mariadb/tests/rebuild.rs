//! `ferroha-mariadb-rebuild` against real mariadbd instances (the lab of `common/mod.rs`):
//! `serve` on the primary streams mariadb-backup to `receive` on the node to rebuild, over
//! loopback, and the agent then attaches the rebuilt node. Needs root, mariadb-server and
//! mariadb-backup.
//!
//! The parameters shared by every node come from a CIB file (`CIB_file`, read by `cibadmin` as
//! Pacemaker's own tools read it); the per-node paths of the lab come with `--param`.

mod common;

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::Lab;
use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};

const TOOL: &str = env!("CARGO_BIN_EXE_ferroha-mariadb-rebuild");

fn ok(r: &common::Run, what: &str) {
    assert_eq!(r.rc, 0, "{what}: {}", r.stderr);
}

/// n1 promoted, every other node in `replicas` started and replicating from it.
fn primary_with(lab: &Lab, replicas: &[&str]) {
    for n in &lab.nodes {
        lab.release_port(&n.name);
    }
    ok(&lab.start("n1"), "start n1");
    for r in replicas {
        ok(&lab.start(r), "start replica");
    }
    ok(&lab.agent("n1", "promote", &[]), "promote n1");
    for r in replicas {
        ok(&lab.notify_promoted(r, "n1"), "notify replica");
    }
}

/// The CIB of the lab: one promotable clone `db-clone` of primitive `db` with the parameters
/// every node shares.
fn cib_file(lab: &Lab) -> PathBuf {
    let per_node = ["config", "datadir", "socket", "pid", "log", "port", "state_dir"];
    let mut nv = String::new();
    for (i, (k, v)) in lab.params.iter().enumerate() {
        assert!(!per_node.contains(&k.as_str()));
        nv.push_str(&format!("<nvpair id=\"db-ia-{i}\" name=\"{k}\" value=\"{v}\"/>\n"));
    }
    let xml = format!(
        "<cib crm_feature_set=\"3.17.4\" validate-with=\"pacemaker-3.9\" epoch=\"1\" \
         num_updates=\"0\" admin_epoch=\"0\"><configuration><crm_config/><nodes/><resources>\
         <clone id=\"db-clone\"><meta_attributes id=\"db-clone-meta\">\
         <nvpair id=\"m1\" name=\"promotable\" value=\"true\"/>\
         <nvpair id=\"m2\" name=\"notify\" value=\"true\"/></meta_attributes>\
         <primitive id=\"db\" class=\"ocf\" provider=\"ferroha\" type=\"mariadb\">\
         <instance_attributes id=\"db-ia\">{nv}</instance_attributes></primitive></clone>\
         </resources><constraints/></configuration><status/></cib>"
    );
    let path = lab.dir.path().join("cib.xml");
    fs::write(&path, xml).expect("cib");
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// The command for `node`: its per-node parameters, the lab's CIB, the given stream port.
fn tool(lab: &Lab, node: &str, mode: &str, port: u16, extra: &[&str]) -> Command {
    let n = lab.node(node);
    let mut c = Command::new(TOOL);
    c.arg(mode)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("CIB_file", cib_file(lab))
        .args(["--node", node, "--stream-port", &port.to_string()]);
    for (k, v) in lab.node_params(n) {
        if !lab.params.iter().any(|(pk, _)| *pk == k) {
            c.arg("--param").arg(format!("{k}={v}"));
        }
    }
    c.args(extra).stdin(Stdio::null());
    c
}

struct Done {
    rc: i32,
    out: String,
}

fn finish(lab: &Lab, o: Output) -> Done {
    let out =
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    eprintln!("{out}");
    if let Ok(mut all) = lab.agent_output.lock() {
        all.push_str(&out);
    }
    Done { rc: o.status.code().unwrap_or(-1), out }
}

fn receive(lab: &Lab, node: &str, port: u16, extra: &[&str]) -> Done {
    finish(lab, tool(lab, node, "receive", port, extra).output().expect("run receive"))
}

fn spawn_serve(lab: &Lab, node: &str, port: u16, extra: &[&str]) -> Child {
    let mut args = vec!["--wait", "120"];
    args.extend_from_slice(extra);
    tool(lab, node, "serve", port, &args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve")
}

/// Copy `primary` to `target` with serve and receive; both must succeed.
fn rebuild(lab: &Lab, target: &str, primary: &str, extra: &[&str]) -> Done {
    rebuild_with(lab, target, primary, extra, &[])
}

/// The same, with `serve_extra` arguments for serve.
fn rebuild_with(
    lab: &Lab,
    target: &str,
    primary: &str,
    extra: &[&str],
    serve_extra: &[&str],
) -> Done {
    let port = free_port();
    let serve = spawn_serve(lab, primary, port, serve_extra);
    let r = receive(lab, target, port, extra);
    let s = finish(lab, serve.wait_with_output().expect("serve"));
    assert_eq!(r.rc, 0, "receive on {target}: {}", r.out);
    assert_eq!(s.rc, 0, "serve on {primary}: {}", s.out);
    assert!(s.out.contains("holds the replication password: streaming"), "{}", s.out);
    r
}

fn slave_field(lab: &Lab, node: &str, field: &str) -> Option<String> {
    lab.sql(node)
        .query_first::<mysql::Row, _>("SHOW SLAVE STATUS")
        .expect("SHOW SLAVE STATUS")
        .and_then(|r| r.get::<Option<String>, _>(field).flatten())
}

fn one_value(c: &mut Conn, sql: &str) -> String {
    c.query_first::<Option<String>, _>(sql).expect(sql).flatten().unwrap_or_default()
}

fn checksum(lab: &Lab, node: &str) -> u64 {
    let r: Option<(String, u64)> =
        lab.sql(node).query_first("CHECKSUM TABLE fh.t").expect("checksum");
    r.expect("row").1
}

/// Wait until `node` has applied everything `primary` has binlogged, then compare the two:
/// same rows, same checksum, same GTID position.
fn assert_caught_up(lab: &Lab, node: &str, primary: &str) {
    let want = one_value(&mut lab.sql(primary), "SELECT @@global.gtid_binlog_pos");
    let t0 = Instant::now();
    while one_value(&mut lab.sql(node), "SELECT @@global.gtid_current_pos") != want {
        assert!(t0.elapsed() < Duration::from_secs(60), "{node} never reached {want}");
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(lab.count(node), lab.count(primary), "rows on {node}");
    assert_eq!(checksum(lab, node), checksum(lab, primary), "CHECKSUM TABLE on {node}");
}

/// Rows of `fh.t` in a datadir nobody runs on, through a private mariadbd (no network, no
/// binary log) stopped by its pid.
fn rows_in(datadir: &Path, ids: &[u32]) -> (u64, Vec<bool>) {
    let dir = datadir.with_extension("probe");
    fs::create_dir_all(&dir).expect("probe dir");
    let sock = dir.join("s.sock");
    let mut child = Command::new("/usr/sbin/mariadbd")
        .args(["--no-defaults", "--user=root", "--skip-networking", "--skip-log-bin"])
        .args(["--skip-slave-start", "--innodb-buffer-pool-size=32M", "--innodb-log-file-size=8M"])
        .arg(format!("--datadir={}", datadir.display()))
        .arg(format!("--socket={}", sock.display()))
        .arg(format!("--pid-file={}", dir.join("p.pid").display()))
        .arg(format!("--log-error={}", dir.join("err.log").display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mariadbd on the old datadir");
    let t0 = Instant::now();
    let mut c = loop {
        let opts = OptsBuilder::new().socket(Some(sock.display().to_string())).user(Some("root"));
        if let Ok(c) = Conn::new(opts) {
            break c;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "private server on {datadir:?} never answered"
        );
        thread::sleep(Duration::from_millis(100));
    };
    let n: u64 = c.query_first("SELECT COUNT(*) FROM fh.t").expect("count").unwrap_or(0);
    let present = ids
        .iter()
        .map(|id| {
            c.exec_first::<u32, _, _>("SELECT id FROM fh.t WHERE id=?", (id,))
                .expect("id")
                .is_some()
        })
        .collect();
    drop(c);
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
    let _ = fs::remove_dir_all(&dir);
    (n, present)
}

fn siblings(datadir: &Path, what: &str) -> Vec<PathBuf> {
    let name = datadir.file_name().expect("name").to_string_lossy().into_owned();
    let mut v: Vec<PathBuf> = fs::read_dir(datadir.parent().expect("parent"))
        .expect("read node dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with(&format!("{name}.{what}-")))
        })
        .collect();
    v.sort();
    v
}

fn datadir(lab: &Lab, node: &str) -> PathBuf {
    lab.node(node).dir.join("data")
}

#[test]
fn an_empty_node_is_rebuilt_and_the_agent_attaches_it() {
    let mut lab = Lab::new(3, false);
    primary_with(&lab, &["n2"]);
    let mut c = lab.sql("n1");
    c.query_drop("CREATE TABLE fh.big (id INT PRIMARY KEY, pad VARCHAR(200)) ENGINE=InnoDB")
        .expect("create");
    c.query_drop("INSERT INTO fh.big SELECT seq, REPEAT(MD5(seq), 6) FROM fh.seq_1_to_20000")
        .expect("fill");
    lab.insert("n1", 0..200);
    lab.wait_count("n2", 200);
    // n3's disk was replaced: no datadir at all.
    let dd = datadir(&lab, "n3");
    fs::remove_dir_all(&dd).expect("remove n3's datadir");

    // A dry run checks and says what it would do, and changes nothing.
    let dry = receive(&lab, "n3", free_port(), &["--dry-run"]);
    assert_eq!(dry.rc, 0, "{}", dry.out);
    assert!(dry.out.contains("holds nothing yet"), "{}", dry.out);
    assert!(dry.out.contains("plan: copy n1"), "{}", dry.out);
    assert!(dry.out.contains("dry run: nothing changed"), "{}", dry.out);
    assert!(!dd.exists(), "a dry run created the datadir");
    assert!(siblings(&dd, "rebuild").is_empty());
    // The new disk is mounted: an empty datadir, replaced by the copy.
    fs::create_dir(&dd).expect("empty datadir");

    // mariadb-backup logs in as a test_user with a password (quote and backslash in it): it
    // goes in a 0600 option file, never on a command line (the lab scans them all).
    let pw = common::password().replace('\\', "\\\\").replace('\'', "\\'");
    c.query_drop(format!("CREATE USER 'bk'@'localhost' IDENTIFIED BY '{pw}'")).expect("user");
    c.query_drop("GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO 'bk'@'localhost'")
        .expect("grant");
    let bk_pw = lab.dir.path().join("bk.pw");
    fs::write(&bk_pw, format!("{}\n", common::password())).expect("bk.pw");
    fs::set_permissions(&bk_pw, fs::Permissions::from_mode(0o600)).expect("chmod");
    let bk_pw = format!("test_passwd_file={}", bk_pw.display());
    let at_copy = one_value(&mut lab.sql("n1"), "SELECT @@global.gtid_binlog_pos");
    let r = rebuild_with(&lab, "n3", "n1", &[], &["--param", "test_user=bk", "--param", &bk_pw]);
    assert!(
        r.out.contains(&format!("at GTID position {at_copy}")),
        "the copy is at the primary's position {at_copy}: {}",
        r.out
    );
    assert!(dd.join("mysql").is_dir(), "the datadir holds a database");
    assert!(siblings(&dd, "rebuild").is_empty(), "no unfinished copy left");
    assert!(siblings(&dd, "old").is_empty(), "nothing to move aside");
    assert!(r.out.contains("crm resource clear db-clone n3"), "{}", r.out);

    // Writes go on after the copy; the agent starts n3 as a replica and it catches up.
    lab.insert("n1", 200..260);
    ok(&lab.start_with_primary("n3", "n1"), "start the rebuilt n3");
    assert_eq!(
        slave_field(&lab, "n3", "Using_Gtid").as_deref(),
        Some("Slave_Pos"),
        "n3 replicates by GTID"
    );
    assert_caught_up(&lab, "n3", "n1");
    assert_eq!(lab.count("n3"), 260);
    let big: Option<(String, u64)> =
        lab.sql("n3").query_first("CHECKSUM TABLE fh.big").expect("checksum big");
    let big1: Option<(String, u64)> =
        lab.sql("n1").query_first("CHECKSUM TABLE fh.big").expect("checksum big");
    assert_eq!(big, big1, "the copied table");
    let m = lab.agent("n3", "monitor", &[]);
    assert_eq!(m.rc, 0, "{}", m.stderr);
    assert_eq!(lab.score("n3"), Some(1000), "a caught-up replica gets the full score");
    drop(c);
    lab.assert_no_password_leak();
}

/// n1 commits `extra` transactions n2 never receives and dies; n2 is promoted and commits
/// `after`; the agent refuses n1 as diverged and Pacemaker stops it.
fn diverged_n1(extra: u32, after: u32) -> Lab {
    let (lab, r) = Lab::diverged_old_primary(extra, after);
    assert_eq!(r.rc, 1, "{}", r.stderr);
    assert!(r.reason().contains("diverged from the primary n2"), "{}", r.reason());
    assert!(r.reason().contains("rebuild this node from the primary"), "{}", r.reason());
    ok(&lab.agent("n1", "stop", &[]), "stop n1");
    lab
}

/// After the rebuild the agent takes n1 as a replica of n2 and it catches up; the datadir
/// moved aside still holds n1's own rows.
fn rejoin_and_check_aside(lab: &Lab, r: &Done, own_rows: u64, forked: u32) {
    let dd = datadir(lab, "n1");
    let aside = siblings(&dd, "old");
    assert_eq!(aside.len(), 1, "one old datadir kept: {aside:?}");
    assert!(
        r.out.contains(&format!("the old datadir is kept at {}", aside[0].display())),
        "{}",
        r.out
    );
    ok(&lab.start_with_primary("n1", "n2"), "start the rebuilt n1");
    lab.insert("n2", 200..210);
    assert_caught_up(lab, "n1", "n2");
    let ids: Vec<u32> = lab.sql("n1").query("SELECT id FROM fh.t").expect("ids");
    assert!(!ids.contains(&forked), "the forked row is not in the rebuilt n1");
    let m = lab.agent("n1", "monitor", &[]);
    assert_eq!(m.rc, 0, "{}", m.stderr);
    let (n, present) = rows_in(&aside[0], &[forked]);
    assert_eq!(n, own_rows, "the old datadir keeps all of n1's rows");
    assert_eq!(present, [true], "the old datadir keeps the forked row {forked}");
}

#[test]
fn a_forked_node_is_refused_then_rebuilt_with_force() {
    // n1 at 0-1-6, n2 at 0-2-6: the same sequence number from two servers.
    let mut lab = diverged_n1(1, 1);
    let dd = datadir(&lab, "n1");
    let r = receive(&lab, "n1", free_port(), &[]);
    assert_eq!(r.rc, 1, "{}", r.out);
    assert!(r.out.contains("this node holds GTID position 0-1-6"), "{}", r.out);
    assert!(
        r.out.contains(
            "this node holds 1 transaction the primary n2 lacks (domain 0: 0-1-6 here, 0-2-6 on \
             n2) — do not rebuild it: this node's history forked from n2's"
        ),
        "{}",
        r.out
    );
    assert!(siblings(&dd, "old").is_empty() && siblings(&dd, "rebuild").is_empty());
    assert_eq!(rows_in(&dd, &[5]), (6, vec![true]), "the refused datadir is untouched");
    let r = rebuild(&lab, "n1", "n2", &["--force"]);
    assert!(r.out.contains("--force: this node holds 1 transaction"), "{}", r.out);
    rejoin_and_check_aside(&lab, &r, 6, 5);
    lab.assert_no_password_leak();
}

#[test]
fn a_diverged_node_behind_the_primary_is_rebuilt_and_its_datadir_kept() {
    // n1 at 0-1-7, n2 at 0-2-10: the position looks like a prefix; n2 refused it (1236).
    let mut lab = diverged_n1(2, 5);
    let r = rebuild(&lab, "n1", "n2", &[]);
    assert!(r.out.contains("this node holds GTID position 0-1-7"), "{}", r.out);
    assert!(r.out.contains("the primary n2 has 0-2-10"), "{}", r.out);
    rejoin_and_check_aside(&lab, &r, 7, 6);
    lab.assert_no_password_leak();
}

#[test]
fn a_node_ahead_of_the_primary_is_refused() {
    let lab = Lab::new(2, false);
    primary_with(&lab, &["n2"]);
    lab.insert("n1", 0..5);
    lab.wait_count("n2", 5);
    // An errant write on the replica (root passes read_only): n2 commits 0-2-6.
    lab.sql("n2").query_drop("INSERT INTO fh.t VALUES (500, 'errant')").expect("errant");
    ok(&lab.agent("n2", "stop", &[]), "stop n2");
    let dd = datadir(&lab, "n2");
    for extra in [&["--dry-run"][..], &[][..]] {
        let r = receive(&lab, "n2", free_port(), extra);
        assert_eq!(r.rc, 1, "{}", r.out);
        assert!(
            r.out.contains(
                "this node holds 1 transaction the primary n1 lacks (domain 0: 0-2-6 here, \
                 0-1-5 on n1) — do not rebuild it: n1 is behind this node"
            ),
            "{}",
            r.out
        );
        assert!(!r.out.contains("plan:"), "{}", r.out);
    }
    assert!(siblings(&dd, "old").is_empty() && siblings(&dd, "rebuild").is_empty());
    assert_eq!(rows_in(&dd, &[500]), (6, vec![true]), "the refused datadir is untouched");
}

#[test]
fn nothing_is_done_while_the_server_runs() {
    let lab = Lab::new(2, false);
    primary_with(&lab, &["n2"]);
    lab.insert("n1", 0..3);
    lab.wait_count("n2", 3);
    let dd = datadir(&lab, "n2");
    for extra in [&["--dry-run"][..], &["--force"][..]] {
        let r = receive(&lab, "n2", free_port(), extra);
        assert_eq!(r.rc, 1, "{}", r.out);
        let pid = lab.node("n2").pid().expect("pid");
        assert!(
            r.out.contains(&format!(
                "a server (pid {pid}) holds the lock on {}/ibdata1",
                dd.display()
            )),
            "{}",
            r.out
        );
        assert!(
            r.out.contains("stop this node's server first (crm resource ban db-clone n2"),
            "{}",
            r.out
        );
    }
    // serve refuses a replica: only the primary serves a copy.
    let s = finish(
        &lab,
        tool(&lab, "n2", "serve", free_port(), &["--wait", "5"]).output().expect("serve"),
    );
    assert_eq!(s.rc, 1, "{}", s.out);
    assert!(s.out.contains("read-only: serve runs on the primary"), "{}", s.out);
    assert!(siblings(&dd, "old").is_empty() && siblings(&dd, "rebuild").is_empty());
    assert_eq!(lab.agent("n2", "monitor", &[]).rc, 0, "n2 still a healthy replica");
    lab.insert("n1", 3..6);
    lab.wait_count("n2", 6);
}
