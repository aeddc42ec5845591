//! Semi-synchronous replication on the primary (review item D3): how long a commit waits for a
//! replica's acknowledgement before MariaDB falls back to asynchronous replication, what the
//! promoted monitor reports while it has (or may soon have) no second copy, and how demote ends
//! writing so that no commit waiting for an acknowledgement is acknowledged after the primary
//! lost its role.
//!
//! Zero acknowledged-write loss with semi-sync holds only while a cut-off primary is fenced
//! before `rpl_semi_sync_master_timeout` runs out: until then its commits wait (no client sees
//! them committed); afterwards they are acknowledged with no replica holding them. The timeout
//! is the `semi_sync_timeout` parameter; 0 means "never fall back": commits wait until a
//! replica acknowledges or the primary is fenced.

use std::time::Duration;

use ocf::{Context, Deadline, OcfCode, OcfError};

use crate::config::Config;
use crate::db::Db;

/// `rpl_semi_sync_master_timeout` for "never fall back": a year, in milliseconds (MariaDB
/// computes the wait's end in nanoseconds; larger values would overflow).
const NEVER_MS: u64 = 365 * 24 * 3600 * 1000;

/// `rpl_semi_sync_master_timeout` (milliseconds) for a `semi_sync_timeout` of `timeout`.
pub(crate) fn timeout_ms(timeout: Duration) -> u64 {
    if timeout.is_zero() {
        NEVER_MS
    } else {
        u64::try_from(timeout.as_millis()).unwrap_or(NEVER_MS).min(NEVER_MS)
    }
}

/// The statement that makes this server a semi-sync primary.
pub(crate) fn enable_sql(cfg: &Config) -> String {
    format!(
        "SET GLOBAL rpl_semi_sync_slave_enabled=OFF, rpl_semi_sync_master_wait_point='AFTER_SYNC', \
         rpl_semi_sync_master_timeout={}, rpl_semi_sync_master_wait_no_slave=ON, \
         rpl_semi_sync_master_enabled=ON",
        timeout_ms(cfg.semi_sync_timeout)
    )
}

/// Why the promoted instance is degraded, if it is: semi-sync fell back to asynchronous
/// replication, or no semi-sync replica is connected.
pub(crate) fn degraded(db: &mut Db) -> Result<Option<String>, OcfError> {
    let rows = db
        .rows(
            "reading the semi-sync status",
            "SHOW GLOBAL STATUS WHERE Variable_name IN \
             ('Rpl_semi_sync_master_status', 'Rpl_semi_sync_master_clients')",
        )
        .context("monitor")?;
    let get = |name: &str| {
        rows.iter()
            .find(|r| r.get("Variable_name").map(String::as_str) == Some(name))
            .and_then(|r| r.get("Value"))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    if get("Rpl_semi_sync_master_status") != "ON" {
        return Ok(Some(
            "semi-sync replication fell back to asynchronous (Rpl_semi_sync_master_status OFF): \
             commits are acknowledged without a second copy"
                .into(),
        ));
    }
    if get("Rpl_semi_sync_master_clients") == "0" {
        return Ok(Some(
            "no semi-sync replica is connected: commits wait for one up to semi_sync_timeout"
                .into(),
        ));
    }
    Ok(None)
}

/// The promoted monitor's answer when semi-sync is degraded: 191 with the reason.
pub(crate) fn degraded_error(why: String) -> OcfError {
    OcfError::new(OcfCode::DegradedPromoted, why)
}

/// Demote's first step: end every client session that could write, and set `read_only` only
/// then, so a commit parked in the semi-sync ACK wait gets a killed connection, never an OK
/// (`read_only=ON` would wait for it, and it is acknowledged when the timeout turns semi-sync
/// off). A session that connects meanwhile makes `read_only` wait again: the statement gets a
/// 1 s lock wait, and the kill is repeated until the deadline.
pub(crate) fn end_writes(db: &mut Db, deadline: &Deadline) -> Result<(), OcfError> {
    db.exec("bounding the read_only lock wait", "SET SESSION lock_wait_timeout=1")
        .context("demote")?;
    loop {
        kill_writers(db)?;
        match db.exec("making the server read-only", "SET GLOBAL read_only=ON") {
            Ok(()) => break,
            Err(e) if deadline.remaining() > Duration::from_secs(2) => {
                log::info!("read_only waits for a session ({e}); ending sessions again");
            }
            Err(e) => return Err(OcfError::generic(format!("demote: {e}"))),
        }
    }
    // Sessions that connected between the kill and read_only can no longer write (unless they
    // hold SUPER or READ ONLY ADMIN): end them too.
    kill_writers(db)
}

fn kill_writers(db: &mut Db) -> Result<(), OcfError> {
    for id in db.writer_sessions().context("demote")? {
        match db.exec("ending a client session", &format!("KILL CONNECTION {id}")) {
            Ok(()) => log::info!("ended client session {id}"),
            Err(e) => log::debug!("session {id}: {e}"),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts() {
        assert_eq!(timeout_ms(Duration::from_secs(30)), 30_000);
        assert_eq!(timeout_ms(Duration::ZERO), NEVER_MS);
        assert_eq!(timeout_ms(Duration::from_secs(u64::MAX)), NEVER_MS);
    }
}
