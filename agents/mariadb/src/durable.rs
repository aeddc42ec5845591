//! Durability settings a promotable clone needs (review item D10). An acknowledged commit
//! survives a whole-site power loss only if it is on disk: in the binary log
//! (`sync_binlog=1`) and in InnoDB (`innodb_flush_log_at_trx_commit=1`) on the primary, and, since
//! a semi-sync replica acknowledges what it wrote to its relay log, in that relay log
//! (`sync_relay_log=1`). The first two are refused when missing (a configuration error, 6); the
//! relay log setting is warned about (it costs one fsync per received event on replicas).

use ocf::{Context, OcfError};

use crate::db::Db;

/// Refuse a server whose binary log or InnoDB log is not flushed at every commit; warn when a
/// semi-sync replica's relay log is not.
pub(crate) fn check(db: &mut Db, semi_sync: bool) -> Result<(), OcfError> {
    let rows = db
        .rows(
            "reading the durability settings",
            "SELECT @@global.sync_binlog AS sync_binlog, \
             @@global.innodb_flush_log_at_trx_commit AS innodb_flush_log_at_trx_commit, \
             @@global.sync_relay_log AS sync_relay_log",
        )
        .context("start")?;
    let row = rows.first().cloned().unwrap_or_default();
    let get = |k: &str| row.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let bad: Vec<String> = ["sync_binlog", "innodb_flush_log_at_trx_commit"]
        .iter()
        .filter(|k| get(k) != "1")
        .map(|k| format!("{k}={}", get(k)))
        .collect();
    if !bad.is_empty() {
        return Err(OcfError::configured(format!(
            "the server is not durable ({}): set sync_binlog=1 and innodb_flush_log_at_trx_commit=1 \
             in the option file (parameter 'config'), or a power loss can lose acknowledged commits",
            bad.join(", ")
        )));
    }
    if semi_sync && get("sync_relay_log") != "1" {
        log::warn!(
            "sync_relay_log={}: a semi-sync replica acknowledges transactions its relay log has \
             not flushed; a power loss of every node can lose acknowledged commits (set \
             sync_relay_log=1)",
            get("sync_relay_log")
        );
    }
    Ok(())
}
