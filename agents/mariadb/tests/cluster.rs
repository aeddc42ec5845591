//! The agent against real mariadbd instances replicating over loopback. Needs root and
//! Debian's mariadb-server. See `common/mod.rs` for the lab.
//!
//! Promotion scores are the published contract (docs/agents/mariadb.md), so they are written
//! as numbers: 1001 promoted, 1000 a replica no reachable peer is ahead of, 100 less per
//! replica ahead, 1 a replica whose promote found a peer ahead.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{Lab, ok};
use mysql::prelude::Queryable;

#[test]
fn replication_switchover_and_scores() {
    let mut lab = Lab::new(3, false);
    lab.primary_with_replicas();
    assert_eq!(lab.agent("n1", "monitor", &[]).rc, 8);
    lab.insert("n1", 0..20);
    lab.wait_count("n2", 20);
    lab.wait_count("n3", 20);
    for n in ["n2", "n3"] {
        let r = lab.agent(n, "monitor", &[]);
        assert_eq!(r.rc, 0, "{}", r.stderr);
    }
    assert_eq!(lab.score("n1"), Some(1001));
    assert_eq!(lab.score("n2"), Some(1000));
    assert_eq!(lab.score("n3"), Some(1000));
    // A monitor whose score does not change forks nothing (not even crm_attribute).
    let calls = lab.attribute_calls();
    for n in ["n1", "n2", "n3"] {
        lab.agent(n, "monitor", &[]);
    }
    assert_eq!(lab.attribute_calls(), calls, "monitor forked crm_attribute for an unchanged score");
    // Probes restore scores.
    let probe = lab.agent("n2", "monitor", &[("OCF_RESKEY_CRM_meta_interval", "0")]);
    assert_eq!(probe.rc, 0, "{}", probe.stderr);
    assert_eq!(lab.attribute_calls(), calls + 1);

    // A client session on the primary is ended by demote; the server turns read-only.
    let mut client = lab.sql("n1");
    ok(&lab.agent("n1", "demote", &[]), "demote n1");
    assert!(client.query_drop("SELECT 1").is_err(), "client session survived demote");
    assert_eq!(lab.agent("n1", "monitor", &[]).rc, 0);
    // Switchover to n2; n1 and n3 follow it by GTID.
    ok(&lab.agent("n2", "promote", &[]), "promote n2");
    assert_eq!(lab.agent("n2", "monitor", &[]).rc, 8);
    ok(&lab.notify_promoted("n1", "n2"), "notify n1");
    ok(&lab.notify_promoted("n3", "n2"), "notify n3");
    lab.insert("n2", 20..30);
    lab.wait_count("n1", 30);
    lab.wait_count("n3", 30);
    for n in ["n1", "n3"] {
        let r = lab.agent(n, "monitor", &[]);
        assert_eq!(r.rc, 0, "{n}: {}", r.stderr);
    }
    // A replica restarted while n2 is promoted joins it at start.
    ok(&lab.agent("n3", "stop", &[]), "stop n3");
    lab.insert("n2", 30..35);
    ok(&lab.start_with_primary("n3", "n2"), "start n3 with n2 promoted");
    lab.wait_count("n3", 35);
    assert_eq!(lab.agent("n3", "monitor", &[]).rc, 0);
    for n in ["n1", "n2", "n3"] {
        ok(&lab.agent(n, "stop", &[]), "stop");
        assert_eq!(lab.agent(n, "monitor", &[]).rc, 7);
        assert_eq!(lab.score(n), None, "score of {n} removed on stop");
    }
    lab.assert_no_password_leak();
}

/// Demote and promote list the server's threads (sessions to end, the IO thread to kill); that
/// must not need a temporary table in `tmpdir`, as an `information_schema` query does: a full or
/// vanished `tmpdir` must not fail a switchover. Failed before: `demote: listing sessions: …
/// Can't create/write to file '…/#sql-temptable-….MAI'` (and in CI `Error on delete of …`).
#[test]
fn switchover_needs_no_tmpdir() {
    let lab = Lab::replicating(2, false, 5);
    let tmpdir = |n: &str| lab.node(n).dir.join("tmp");
    for n in ["n1", "n2"] {
        std::fs::remove_dir(tmpdir(n)).expect("remove tmpdir");
    }
    ok(&lab.agent("n1", "demote", &[]), "demote n1 without tmpdir");
    ok(&lab.agent("n2", "promote", &[]), "promote n2 without tmpdir");
    // A replica's SQL thread itself needs the tmpdir: that is the server's own business.
    for n in ["n1", "n2"] {
        std::fs::create_dir(tmpdir(n)).expect("tmpdir back");
    }
    ok(&lab.notify_promoted("n1", "n2"), "re-point n1");
    lab.insert("n2", 5..8);
    lab.wait_count("n1", 8);
    for n in ["n1", "n2"] {
        ok(&lab.agent(n, "stop", &[]), "stop");
    }
}

#[test]
fn most_advanced_replica_wins_and_lagging_promote_fails() {
    let mut lab = Lab::new(3, false);
    lab.primary_with_replicas();
    lab.insert("n1", 0..10);
    lab.wait_count("n3", 10);
    // n3 stops receiving; n2 gets 10 more rows.
    lab.sql("n3").query_drop("STOP SLAVE").expect("stop slave on n3");
    lab.insert("n1", 10..20);
    lab.wait_count("n2", 20);
    lab.kill("n1");
    let dead = lab.agent("n1", "monitor", &[]);
    assert_eq!(dead.rc, 9, "a failed promoted instance reports 9: {}", dead.stderr);
    assert!(dead.reason().contains("not running"), "{}", dead.reason());
    // Scores: n2 (ahead) above n3.
    lab.sql("n3").query_drop("START SLAVE").expect("restart n3 slave (primary is gone)");
    assert_eq!(lab.agent("n2", "monitor", &[]).rc, 0);
    assert_eq!(lab.agent("n3", "monitor", &[]).rc, 0);
    let (s2, s3) = (lab.score("n2").expect("n2 score"), lab.score("n3").expect("n3 score"));
    assert!(s2 > s3, "n2 {s2} must outrank n3 {s3}");
    // Promoting the lagging n3 fails with a reason and moves the score to n2.
    let r = lab.agent("n3", "promote", &[]);
    assert_eq!(r.rc, 1, "{}", r.stderr);
    eprintln!("lagging promote: {}", r.reason());
    assert!(r.reason().contains("n2 is ahead"), "{}", r.reason());
    assert_eq!(lab.score("n3"), Some(1));
    assert_eq!(lab.score("n2"), Some(1000));
    assert_eq!(lab.agent("n3", "monitor", &[]).rc, 0, "n3 is still a healthy replica");
    // n2 is promoted; n3 catches up from it; nothing acknowledged is lost.
    ok(&lab.agent("n2", "promote", &[]), "promote n2");
    assert_eq!(lab.agent("n2", "monitor", &[]).rc, 8);
    ok(&lab.notify_promoted("n3", "n2"), "notify n3");
    lab.wait_count("n3", 20);
    lab.assert_no_password_leak();
}

/// n1 diverged ([`Lab::diverged_old_primary`]) comes back and must be refused.
fn diverged_old_primary(extra: u32, after: u32) -> String {
    let (mut lab, r) = Lab::diverged_old_primary(extra, after);
    assert_eq!(r.rc, 1, "{}", r.stderr);
    assert!(r.reason().contains("diverged from the primary n2"), "{}", r.reason());
    assert!(r.stderr.contains("ERROR: diverged from the primary n2"), "logged: {}", r.stderr);
    assert_eq!(lab.score("n1"), None);
    let m = lab.agent("n1", "monitor", &[]);
    assert_eq!(m.rc, 1, "{}", m.stderr);
    assert!(m.reason().contains("diverged"), "{}", m.reason());
    let p = lab.agent("n1", "promote", &[]);
    assert_eq!(p.rc, 1, "a diverged node is never promoted: {}", p.stderr);
    assert_eq!(lab.count("n1"), u64::from(5 + extra), "n1 keeps its own history, untouched");
    ok(&lab.agent("n1", "stop", &[]), "stop n1");
    lab.assert_no_password_leak();
    r.reason().to_owned()
}

#[test]
fn diverged_old_primary_is_refused_by_the_primary() {
    // n1 at 0-1-7, n2 at 0-2-10: the positions alone look like a prefix; n2 answers 1236.
    let reason = diverged_old_primary(2, 5);
    assert!(reason.contains("error 1236"), "{reason}");
}

#[test]
fn diverged_old_primary_is_refused_before_connecting() {
    // n1 at 0-1-6, n2 at 0-2-6: the same sequence number from two servers is a fork.
    let reason = diverged_old_primary(1, 1);
    assert!(reason.contains("is not in the history of n2"), "{reason}");
}

#[test]
fn promote_applies_the_whole_relay_log_first() {
    let mut lab = Lab::new(2, false);
    lab.primary_with_replicas();
    lab.insert("n1", 0..5);
    lab.wait_count("n2", 5);
    // A session on n2 holds a row lock: n2 keeps receiving but its SQL thread blocks on the
    // first replicated UPDATE, so 50 inserts wait in its relay log.
    let mut locker = lab.sql("n2");
    locker.query_drop("BEGIN").expect("begin");
    locker.query_drop("SELECT * FROM fh.t WHERE id=0 FOR UPDATE").expect("lock");
    lab.sql("n1").query_drop("UPDATE fh.t SET v='changed' WHERE id=0").expect("update");
    lab.insert("n1", 5..55);
    let want: String =
        lab.sql("n1").query_first("SELECT @@gtid_binlog_pos").expect("pos").expect("row");
    let t0 = Instant::now();
    loop {
        let io: Option<String> = lab
            .sql("n2")
            .query_first::<mysql::Row, _>("SHOW SLAVE STATUS")
            .expect("status")
            .and_then(|r| r.get("Gtid_IO_Pos"));
        if io.as_deref() == Some(want.as_str()) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "relay log never got {want}: {io:?}");
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(lab.count("n2"), 5, "the rows are received, not applied");
    lab.kill("n1");
    // The lock goes away while promote is waiting for the relay log.
    let release = thread::spawn(move || {
        thread::sleep(Duration::from_secs(2));
        locker.query_drop("COMMIT").expect("commit");
    });
    let p = lab.agent("n2", "promote", &[]);
    ok(&p, "promote n2");
    release.join().expect("release");
    assert_eq!(lab.count("n2"), 55, "promote applied the whole relay log before going writable");
    let v: Option<String> =
        lab.sql("n2").query_first("SELECT v FROM fh.t WHERE id=0").expect("row");
    assert_eq!(v.as_deref(), Some("changed"));
    assert_eq!(lab.agent("n2", "monitor", &[]).rc, 8);
    lab.assert_no_password_leak();
}

#[test]
fn semi_sync_acknowledged_inserts_survive_killing_the_primary() {
    let mut lab = Lab::new(2, true);
    lab.primary_with_replicas();
    // Wait until the replica is a semi-sync client of the primary.
    let t0 = Instant::now();
    loop {
        let n: Option<(String, u64)> = lab
            .sql("n1")
            .query_first("SHOW STATUS LIKE 'Rpl_semi_sync_master_clients'")
            .expect("status");
        if n.is_some_and(|(_, v)| v == 1) {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(30), "replica never became semi-sync");
        thread::sleep(Duration::from_millis(50));
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut writer_conn = lab.sql("n1");
    let s2 = stop.clone();
    let writer = thread::spawn(move || {
        let mut acked = Vec::new();
        for id in 0u32.. {
            if s2.load(Ordering::SeqCst) {
                break;
            }
            match writer_conn.exec_drop("INSERT INTO fh.t VALUES (?, 'w')", (id,)) {
                Ok(()) => acked.push(id),
                Err(_) => break,
            }
        }
        acked
    });
    thread::sleep(Duration::from_millis(1500));
    lab.kill("n1");
    stop.store(true, Ordering::SeqCst);
    let acked = writer.join().expect("writer");
    eprintln!("acknowledged inserts before the kill: {}", acked.len());
    assert!(acked.len() > 10, "the writer got only {} acknowledgements", acked.len());
    ok(&lab.agent("n2", "promote", &[]), "promote n2");
    let mut c = lab.sql("n2");
    let present: Vec<u32> = c.query("SELECT id FROM fh.t").expect("ids");
    let missing: Vec<&u32> = acked.iter().filter(|id| !present.contains(id)).collect();
    assert!(missing.is_empty(), "{} acknowledged rows lost: {missing:?}", missing.len());
    lab.assert_no_password_leak();
}
