//! The promote, start and re-point paths against the review of issue 15
//! (`../shared/notes/mariadb-review.md`, items D2, D4, D6, D7, D9, D11, D13), each on real
//! mariadbd instances of the lab in `common/mod.rs`. One test per item, named after it; each
//! failed on the agent before its fix (see the commit that added it).
//!
//! Pacemaker's notify variables are passed the way Pacemaker passes them: to the notify
//! actions with `notify_type`/`notify_operation`, and the same lists to the start, stop,
//! promote and demote actions themselves.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{Lab, ok};
use mysql::prelude::Queryable;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn slave_field(lab: &Lab, node: &str, field: &str) -> Option<String> {
    lab.sql(node)
        .query_first::<mysql::Row, _>("SHOW SLAVE STATUS")
        .expect("status")
        .and_then(|r| r.get::<Option<String>, _>(field).flatten())
}

/// A refused promote of `node`: rc 1, a reason holding every one of `needles`, still read-only.
fn assert_refused(lab: &Lab, node: &str, r: &common::Run, needles: &[&str]) {
    assert_eq!(r.rc, 1, "the promote of {node} went ahead: {}", r.stderr);
    for n in needles {
        assert!(r.reason().contains(n), "reason lacks '{n}': {}", r.reason());
    }
    assert!(read_only(lab, node), "{node} went writable");
}

fn read_only(lab: &Lab, node: &str) -> bool {
    let v: Option<u64> = lab.sql(node).query_first("SELECT @@global.read_only").expect("ro");
    v == Some(1)
}

/// D9: a returning node is told (notify variables of its start) that the primary is a node
/// that is already gone. Its start must succeed read-only and unattached, not fail (a start
/// failure bans the node), and the post-promote notify of the new primary attaches it.
#[test]
fn d9_start_while_the_named_primary_is_gone_waits_read_only() {
    let mut lab = Lab::replicating(3, false, 10);
    ok(&lab.agent("n3", "stop", &[]), "stop n3");
    lab.insert("n1", 10..20);
    lab.wait_count("n2", 20);
    lab.kill("n1");
    // The transition that recovers n1 stops it and starts n3: n1 is still listed as promoted
    // (the lists describe the state before the transition), and in the stop list.
    let r = lab.agent(
        "n3",
        "start",
        &[
            ("OCF_RESKEY_CRM_meta_notify_promoted_uname", "n1"),
            ("OCF_RESKEY_CRM_meta_notify_stop_uname", "n1"),
            ("OCF_RESKEY_CRM_meta_notify_demote_uname", "n1"),
        ],
    );
    ok(&r, "start n3 while n1, listed as the primary, is being stopped");
    assert!(read_only(&lab, "n3"), "n3 came up writable");
    ok(&lab.agent("n3", "stop", &[]), "stop n3");
    // The same without the stop list: the named primary is merely unreachable.
    let r = lab.start_with_primary("n3", "n1");
    ok(&r, "start n3 while the named primary n1 is unreachable");
    assert!(read_only(&lab, "n3"), "n3 came up writable");
    assert!(r.stderr.contains("n1"), "the log says why n3 is not replicating: {}", r.stderr);
    // The new primary's post-promote notify attaches it; nothing is lost.
    ok(&lab.agent("n2", "promote", &[]), "promote n2");
    ok(&lab.notify_promoted("n3", "n2"), "notify n3");
    lab.insert("n2", 20..25);
    lab.wait_count("n3", 25);
    assert_eq!(slave_field(&lab, "n3", "Slave_IO_Running").as_deref(), Some("Yes"));
    lab.assert_no_password_leak();
}

/// The notify variables of a failover from `dead` (stopped by the transition) to `to`.
fn failover_metas<'a>(active: &'a str, dead: &'a str, to: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("OCF_RESKEY_CRM_meta_notify_active_uname", active),
        ("OCF_RESKEY_CRM_meta_notify_promoted_uname", dead),
        ("OCF_RESKEY_CRM_meta_notify_stop_uname", dead),
        ("OCF_RESKEY_CRM_meta_notify_demote_uname", dead),
        ("OCF_RESKEY_CRM_meta_notify_promote_uname", to),
    ]
}

/// The pre-promote notification of a failover, delivered to `node`.
fn pre_promote(lab: &Lab, node: &str, metas: &[(&str, &str)]) {
    let mut env = metas.to_vec();
    env.extend([
        ("OCF_RESKEY_CRM_meta_notify_type", "pre"),
        ("OCF_RESKEY_CRM_meta_notify_operation", "promote"),
    ]);
    ok(&lab.agent(node, "notify", &env), "pre-promote notify");
}

/// `node` receives (and, with semi-sync, would acknowledge) but applies nothing for an hour.
fn receive_only(lab: &Lab, node: &str) {
    let mut c = lab.sql(node);
    c.query_drop("STOP SLAVE").expect("stop slave");
    c.query_drop("CHANGE MASTER TO MASTER_DELAY=3600").expect("delay");
    c.query_drop("START SLAVE").expect("start slave");
}

/// Wait until `node` has received everything `primary` has written.
fn wait_received(lab: &Lab, node: &str, primary: &str) {
    let want: String =
        lab.sql(primary).query_first("SELECT @@gtid_binlog_pos").expect("pos").expect("row");
    let t0 = Instant::now();
    while slave_field(lab, node, "Gtid_IO_Pos").as_deref() != Some(want.as_str()) {
        assert!(t0.elapsed() < Duration::from_secs(30), "{node} never received {want}");
        thread::sleep(Duration::from_millis(50));
    }
}

fn signal(lab: &Lab, node: &str, sig: Signal) {
    let pid = lab.node(node).pid().expect("pid");
    kill(Pid::from_raw(pid), sig).expect("signal");
}

/// Three nodes, n1 primary, 5 rows everywhere, then `stop` run on n2 and n3.
fn three_nodes_with_5_rows(stop: &str) -> Lab {
    let lab = Lab::new(3, false);
    lab.primary_with_replicas();
    lab.insert("n1", 0..5);
    lab.wait_count("n2", 5);
    lab.wait_count("n3", 5);
    for n in ["n2", "n3"] {
        lab.sql(n).query_drop(stop).expect(stop);
    }
    lab
}

/// n1 primary; n3 has received 10 rows it has not applied, n2 has not received them; n1 dies.
fn only_n3_has_the_last_rows(lab: &Lab) {
    lab.primary_with_replicas();
    lab.insert("n1", 0..5);
    lab.wait_count("n3", 5);
    lab.wait_count("n2", 5);
    receive_only(lab, "n3");
    lab.sql("n2").query_drop("STOP SLAVE IO_THREAD").expect("stop io on n2");
    lab.insert("n1", 5..15);
    wait_received(lab, "n3", "n1");
    assert_eq!(lab.count("n3"), 5, "n3 holds the 10 rows in its relay log only");
    lab.kill("n1");
}

/// D2: a peer that Pacemaker reports active but that does not answer (here: its mariadbd is
/// SIGSTOPped, so the TCP connect succeeds and the login hangs) is not skipped: promote waits
/// for it, then fails naming it. Before, it was skipped after peer_timeout and n2 was promoted
/// without the 10 rows only n3 had received.
#[test]
fn d2_promote_waits_for_every_active_peer_and_names_the_silent_one() {
    let mut lab = Lab::new(3, false);
    only_n3_has_the_last_rows(&lab);
    let metas = failover_metas("n1 n2 n3", "n1", "n2");
    pre_promote(&lab, "n2", &metas);
    signal(&lab, "n3", Signal::SIGSTOP);
    let mut env = metas.clone();
    env.push(("OCF_RESKEY_CRM_meta_timeout", "10000"));
    let r = lab.agent("n2", "promote", &env);
    signal(&lab, "n3", Signal::SIGCONT);
    assert_refused(&lab, "n2", &r, &["no received position from n3"]);
    // Once n3 answers, it is ahead: the score moves to it.
    let r = lab.agent("n2", "promote", &env);
    assert_eq!(r.rc, 1, "{}", r.stderr);
    assert!(r.reason().contains("n3 is ahead"), "{}", r.reason());
    assert_eq!(lab.score("n3"), Some(1000));
    lab.assert_no_password_leak();
}

/// D2: a `SHOW SLAVE STATUS` that fails on a peer (here the replication user lost SLAVE
/// MONITOR on n3) makes its received position unknown, which fails the check; it used to count
/// as empty, so n3's 10 received rows were ignored. The required set comes from the
/// pre-promote notification (kept in state_dir), the promote itself gets no lists.
#[test]
fn d2_promote_treats_a_failing_show_slave_status_as_unknown() {
    let mut lab = Lab::new(3, false);
    only_n3_has_the_last_rows(&lab);
    let mut c = lab.sql("n3");
    c.query_drop("SET SESSION sql_log_bin=0").expect("sql_log_bin");
    c.query_drop("REVOKE SLAVE MONITOR ON *.* FROM 'repl'@'%'").expect("revoke");
    pre_promote(&lab, "n2", &failover_metas("n1 n2 n3", "n1", "n2"));
    let r = lab.agent("n2", "promote", &[("OCF_RESKEY_CRM_meta_timeout", "8000")]);
    assert_refused(&lab, "n2", &r, &["no received position from n3", "SHOW SLAVE STATUS"]);
    lab.assert_no_password_leak();
}

/// Listen on the port of `node`, whose server was killed, and never accept. The port is free
/// once the dead server's sockets are gone (they may outlive it briefly).
fn hold_port(lab: &Lab, node: &str) -> std::net::TcpListener {
    let port = lab.node(node).port;
    let t0 = Instant::now();
    loop {
        match std::net::TcpListener::bind(("127.0.0.1", port)) {
            Ok(l) => return l,
            Err(e) => assert!(t0.elapsed() < Duration::from_secs(30), "bind {port}: {e}"),
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// D2: a peer Pacemaker reports stopped (the dead old primary) is not asked at all. Its port
/// is held by a listener that never accepts, as a hung host would: any connection attempt
/// shows in its queue, and the old agent waited peer_timeout there on every failover.
#[test]
fn d2_promote_does_not_ask_a_peer_pacemaker_stops() {
    let mut lab = three_nodes_with_5_rows("STOP SLAVE IO_THREAD");
    lab.kill("n1");
    let hung = hold_port(&lab, "n1");
    hung.set_nonblocking(true).expect("nonblocking");
    let metas = failover_metas("n1 n2 n3", "n1", "n2");
    pre_promote(&lab, "n2", &metas);
    let t0 = Instant::now();
    let r = lab.agent("n2", "promote", &metas);
    let took = t0.elapsed();
    ok(&r, "promote n2");
    eprintln!("promote with the stopped old primary on a hung port took {} ms", took.as_millis());
    assert!(hung.accept().is_err(), "promote connected to n1, which Pacemaker reports stopped");
    assert!(!read_only(&lab, "n2"));
    lab.assert_no_password_leak();
}

/// D2 (second half): a replica re-pointed to a new primary that lacks transactions the replica
/// has received (here n2 was promoted without n3's report, outside Pacemaker) must not purge
/// them with CHANGE MASTER: its notify refuses, keeps the relay log, and says the node must
/// not be rebuilt. Before, the 10 received rows vanished silently.
#[test]
fn d2_repoint_refuses_when_this_node_holds_what_the_new_primary_lacks() {
    let mut lab = Lab::new(3, false);
    only_n3_has_the_last_rows(&lab);
    signal(&lab, "n3", Signal::SIGSTOP);
    // Without notify variables the agent checks the node_map peers that answer.
    let r = lab.agent("n2", "promote", &[]);
    signal(&lab, "n3", Signal::SIGCONT);
    ok(&r, "promote n2 while n3 is silent (outside Pacemaker)");
    let io_before = slave_field(&lab, "n3", "Gtid_IO_Pos");
    let r = lab.notify_promoted("n3", "n2");
    assert_eq!(r.rc, 0, "notify never fails: {}", r.stderr);
    assert!(
        r.stderr.contains("holds 10 transactions the new primary n2 lacks"),
        "the refusal is logged: {}",
        r.stderr
    );
    assert!(r.stderr.contains("do not rebuild it"), "{}", r.stderr);
    assert_eq!(slave_field(&lab, "n3", "Gtid_IO_Pos"), io_before, "n3 was re-pointed");
    let m = lab.agent("n3", "monitor", &[]);
    assert_eq!(m.rc, 1, "{}", m.stderr);
    assert!(m.reason().contains("do not rebuild it"), "{}", m.reason());
    assert_eq!(lab.score("n3"), None);
    // The relay log is intact: it still holds the last of the 10 transactions (0-1-15).
    let data = lab.node("n3").dir.join("data");
    let index = std::fs::read_dir(&data)
        .expect("datadir")
        .flatten()
        .find(|e| e.file_name().to_string_lossy().ends_with("relay-bin.index"))
        .expect("relay log index");
    let files = std::fs::read_to_string(index.path()).expect("index");
    let mut c = lab.sql("n3");
    let last = files.lines().any(|f| {
        let name = f.rsplit('/').next().unwrap_or(f);
        let events: Vec<mysql::Row> =
            c.query(format!("SHOW RELAYLOG EVENTS IN '{name}'")).expect("events");
        events.iter().any(|e| {
            e.get::<Option<String>, _>("Info").flatten().is_some_and(|i| i.contains("GTID 0-1-15"))
        })
    });
    assert!(last, "n3's relay log lost the transactions n2 lacks");
    lab.assert_no_password_leak();
}

/// D11: error 1236 because the primary purged the binary logs a replica still needs is not a
/// fork: the reason says the node needs a rebuild because the logs are gone, not "diverged".
#[test]
fn d11_repoint_after_purged_binlogs_is_not_called_diverged() {
    let mut lab = Lab::new(2, false);
    lab.primary_with_replicas();
    lab.insert("n1", 0..5);
    lab.wait_count("n2", 5);
    lab.sql("n2").query_drop("STOP SLAVE").expect("stop slave");
    lab.insert("n1", 5..10);
    // The primary loses the binary log n2 needs. (MariaDB keeps a file until the binlog
    // checkpoint of crash recovery has moved past it, so purge until it is gone.)
    let mut c = lab.sql("n1");
    c.query_drop("FLUSH BINARY LOGS").expect("flush");
    let t0 = Instant::now();
    loop {
        let last: String = c
            .query_first::<mysql::Row, _>("SHOW MASTER STATUS")
            .expect("status")
            .expect("row")
            .get("File")
            .expect("file");
        c.query_drop(format!("PURGE BINARY LOGS TO '{last}'")).expect("purge");
        let logs: Vec<mysql::Row> = c.query("SHOW BINARY LOGS").expect("logs");
        if logs.len() == 1 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "the binary logs were never purged");
        thread::sleep(Duration::from_millis(200));
    }
    let r = lab.notify_promoted("n2", "n1");
    assert_eq!(r.rc, 0, "notify never fails: {}", r.stderr);
    // The IO thread reports the primary's refusal once it asks for its first event.
    let t0 = Instant::now();
    let m = loop {
        let m = lab.agent("n2", "monitor", &[]);
        if m.rc != 0 || t0.elapsed() > Duration::from_secs(20) {
            break m;
        }
        thread::sleep(Duration::from_millis(200));
    };
    eprintln!("monitor after re-point: {}", m.stderr);
    assert!(
        m.reason().contains("needs a rebuild: the primary no longer has the binary logs"),
        "{}",
        m.reason()
    );
    assert!(!m.reason().contains("diverged"), "{}", m.reason());
    lab.assert_no_password_leak();
}

/// D6: with parallel replication the SQL driver thread shows "has read all relay log" once it
/// has handed every event to a worker, while workers may still wait (here on a row lock).
/// Promote must wait until everything received is committed (MASTER_GTID_WAIT to Gtid_IO_Pos).
#[test]
fn d6_promote_applies_everything_received_with_parallel_replication() {
    let mut lab = Lab::new(2, false);
    let cnf = lab.node("n2").dir.join("my.cnf");
    let mut text = std::fs::read_to_string(&cnf).expect("my.cnf");
    text.push_str("slave-parallel-threads=4\nslave-parallel-mode=optimistic\n");
    std::fs::write(&cnf, text).expect("my.cnf");
    lab.primary_with_replicas();
    lab.insert("n1", 0..5);
    lab.wait_count("n2", 5);
    // A session on n2 holds a row lock: the worker applying the UPDATE waits, and the inserts
    // after it wait to commit in order.
    let mut locker = lab.sql("n2");
    locker.query_drop("BEGIN").expect("begin");
    locker.query_drop("SELECT * FROM fh.t WHERE id=0 FOR UPDATE").expect("lock");
    lab.sql("n1").query_drop("UPDATE fh.t SET v='changed' WHERE id=0").expect("update");
    lab.insert("n1", 5..55);
    wait_received(&lab, "n2", "n1");
    assert_eq!(lab.count("n2"), 5, "the rows are received, not applied");
    lab.kill("n1");
    let release = thread::spawn(move || {
        thread::sleep(Duration::from_secs(3));
        locker.query_drop("COMMIT").expect("commit");
    });
    let p = lab.agent("n2", "promote", &[]);
    release.join().expect("release");
    ok(&p, "promote n2");
    assert_eq!(lab.count("n2"), 55, "promote went writable before applying everything received");
    let v: Option<String> =
        lab.sql("n2").query_first("SELECT v FROM fh.t WHERE id=0").expect("row");
    assert_eq!(v.as_deref(), Some("changed"));
    lab.assert_no_password_leak();
}

/// All three nodes' notify variables for a promote of `to` with every node active.
fn all_active(to: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("OCF_RESKEY_CRM_meta_notify_active_uname", "n1 n2 n3"),
        ("OCF_RESKEY_CRM_meta_notify_promote_uname", to),
    ]
}

/// D4 (a): a lagging replica with an errant write in another domain is incomparable with a
/// peer that is ahead in domain 0. Promote refuses with a reason; before, "nobody is ahead"
/// and it went writable, dropping n2's 10 rows.
#[test]
fn d4_promote_refuses_incomparable_positions() {
    let mut lab = Lab::replicating(3, false, 5);
    lab.sql("n3").query_drop("STOP SLAVE IO_THREAD").expect("stop io on n3");
    lab.insert("n1", 5..15);
    lab.wait_count("n2", 15);
    // An errant write on n3 by root (read_only does not stop it), in domain 1.
    let mut c = lab.sql("n3");
    c.query_drop("SET SESSION gtid_domain_id=1").expect("domain");
    c.exec_drop("INSERT INTO fh.t VALUES (100, 'errant')", ()).expect("errant insert");
    lab.kill("n1");
    let mut metas = failover_metas("n1 n2 n3", "n1", "n3");
    metas.push(("OCF_RESKEY_CRM_meta_timeout", "20000"));
    let r = lab.agent("n3", "promote", &metas);
    assert_refused(&lab, "n3", &r, &["forked histories", "n2 ("]);
    lab.assert_no_password_leak();
}

/// D4 (b): an async fork with *higher* sequence numbers (n1 kept 50 transactions nobody
/// received, n2 was promoted and wrote 10) looks "ahead" by the last GTID of domain 0. After a
/// cold start of the whole cluster, promoting n2 must say the histories forked, not hand the
/// promotion score to the fork n1 as "ahead".
#[test]
fn d4_promote_at_cold_start_does_not_hand_the_score_to_a_higher_numbered_fork() {
    let mut lab = three_nodes_with_5_rows("STOP SLAVE");
    lab.insert("n1", 5..55);
    lab.kill("n1");
    ok(&lab.agent("n2", "promote", &failover_metas("n1 n2 n3", "n1", "n2")), "promote n2");
    lab.insert("n2", 100..110);
    ok(&lab.notify_promoted("n3", "n2"), "notify n3");
    lab.wait_count("n3", 15);
    // The whole cluster stops, and starts with no primary.
    for n in ["n1", "n2", "n3"] {
        ok(&lab.agent(n, "stop", &[]), "stop");
    }
    for n in ["n1", "n2", "n3"] {
        ok(&lab.agent(n, "start", &[("OCF_RESKEY_CRM_meta_notify_active_uname", " ")]), "start");
    }
    let mut metas = all_active("n2");
    metas.push(("OCF_RESKEY_CRM_meta_timeout", "20000"));
    let before = lab.score("n1");
    let r = lab.agent("n2", "promote", &metas);
    assert_refused(&lab, "n2", &r, &["forked histories", "n1 lacks 0-2-"]);
    assert_eq!(lab.score("n1"), before, "the promotion score was handed to the fork n1");
    lab.assert_no_password_leak();
}

/// D7: a replica switched writable behind the agent's back (root, `read_only=OFF`) while the
/// primary is writable: its probe must report two primaries and publish no score, never take it
/// for a promoted instance (rc 8, score 1001) as before.
#[test]
fn d7_probe_reports_a_second_writable_server_instead_of_adopting_it() {
    let mut lab = Lab::new(2, false);
    lab.primary_with_replicas();
    lab.insert("n1", 0..5);
    lab.wait_count("n2", 5);
    lab.sql("n2").query_drop("SET GLOBAL read_only=OFF").expect("writable n2");
    lab.insert("n2", 100..101);
    let probe = [("OCF_RESKEY_CRM_meta_interval", "0")];
    let r = lab.agent("n2", "monitor", &probe);
    assert_eq!(r.rc, 1, "a writable server not promoted by the agent was adopted: {}", r.stderr);
    assert!(r.reason().contains("n1"), "{}", r.reason());
    assert!(r.reason().contains("both writable"), "{}", r.reason());
    assert_eq!(lab.score("n2"), None);
    // The agent's own primary is still its primary.
    assert_eq!(lab.agent("n1", "monitor", &probe).rc, 8);
    // And promote does not adopt it either.
    let p = lab.agent("n2", "promote", &[]);
    assert_eq!(p.rc, 1, "{}", p.stderr);
    assert!(p.reason().contains("both writable"), "{}", p.reason());
    lab.assert_no_password_leak();
}

/// A mariadbd started outside the agent, on n1's datadir and socket (as Debian's enabled
/// `mariadb.service` would be), with its own pid file.
struct Foreign(std::process::Child);

impl Drop for Foreign {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// D13: a foreign mariadbd on our datadir and socket is reported by the probe (it was "not
/// running", 7) and start refuses instead of spawning a second server on the same datadir.
#[test]
fn d13_a_foreign_server_on_our_socket_is_reported_not_taken_for_ours() {
    let mut lab = Lab::new(1, false);
    let n = lab.node("n1");
    lab.release_port("n1");
    let params = lab.node_params(n);
    let param = |k: &str| params.iter().find(|(p, _)| p == k).map(|(_, v)| v.clone()).unwrap();
    let child = std::process::Command::new("/usr/sbin/mariadbd")
        .arg(format!("--defaults-file={}", param("config")))
        .arg(format!("--datadir={}", param("datadir")))
        .arg(format!("--socket={}", param("socket")))
        .arg(format!("--pid-file={}", n.dir.join("foreign.pid").display()))
        .arg(format!("--port={}", n.port))
        .arg(format!("--log-error={}", n.dir.join("foreign.log").display()))
        .arg("--user=root")
        .spawn()
        .expect("mariadbd");
    let _foreign = Foreign(child);
    let t0 = Instant::now();
    while !std::path::Path::new(&param("socket")).exists() {
        assert!(t0.elapsed() < Duration::from_secs(30), "the foreign server never started");
        thread::sleep(Duration::from_millis(50));
    }
    lab.count("n1");
    let r = lab.agent("n1", "monitor", &[("OCF_RESKEY_CRM_meta_interval", "0")]);
    assert_eq!(r.rc, 1, "a foreign server was reported as not running: {}", r.stderr);
    assert!(r.reason().contains("did not start"), "{}", r.reason());
    let s = lab.agent("n1", "start", &[]);
    assert_eq!(s.rc, 1, "{}", s.stderr);
    assert!(s.reason().contains("did not start"), "{}", s.reason());
    lab.assert_no_password_leak();
}

/// D2, the cost issue 13 measured: a powered-off old primary never answers a SYN, so every
/// failover spent `peer_connect_timeout` (300 ms) connecting to it. Here its port is held by a
/// listener whose accept queue is full, so the kernel drops further SYNs as a dead host would.
/// A peer Pacemaker reports stopped is not asked, so the agent logs nothing about n1.
#[test]
fn d2_promote_does_not_wait_for_a_stopped_peer_that_drops_syns() {
    let mut lab = three_nodes_with_5_rows("STOP SLAVE IO_THREAD");
    lab.kill("n1");
    let dead = hold_port(&lab, "n1");
    // Fill the accept queue until a connect times out: from then on SYNs are dropped.
    let addr = dead.local_addr().expect("addr");
    let mut fillers = Vec::new();
    while let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
        fillers.push(s);
        assert!(fillers.len() < 4096, "the accept queue never filled");
    }
    let metas = failover_metas("n1 n2 n3", "n1", "n2");
    let t0 = Instant::now();
    let r = lab.agent("n2", "promote", &metas);
    let took = t0.elapsed();
    ok(&r, "promote n2");
    eprintln!("promote with the stopped old primary dropping SYNs took {} ms", took.as_millis());
    assert!(!r.stderr.contains("peer n1"), "promote tried the stopped n1: {}", r.stderr);
    drop(fillers);
    lab.assert_no_password_leak();
}

/// D2: a peer Pacemaker reports active that `node_map` does not name cannot be asked; the
/// promote fails at once, saying so, rather than waiting for it until the deadline.
#[test]
fn d2_promote_names_a_required_peer_missing_from_node_map() {
    let mut lab = Lab::new(2, false);
    lab.primary_with_replicas();
    lab.kill("n1");
    let r = lab.agent("n2", "promote", &failover_metas("n1 n2 n9", "n1", "n2"));
    assert_refused(&lab, "n2", &r, &["parameter 'node_map' has no entry for node 'n9'"]);
    lab.assert_no_password_leak();
}
