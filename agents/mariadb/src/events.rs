//! Scheduled events in a promotable clone (review item D12). An event fires as its definer,
//! usually root, whom `read_only` does not stop (MariaDB 10.11: SUPER implies READ ONLY
//! ADMIN), so an event left running on a replica writes behind replication's back: an errant
//! GTID that breaks the replica or makes it look "ahead". Replicas therefore never run the event
//! scheduler: clone instances start with `--event-scheduler=OFF` and demote switches it off.
//! Replicated events arrive `SLAVESIDE_DISABLED`; with `event_scheduler=true` promote turns the
//! scheduler on and re-enables them, so scheduled jobs follow the primary.

use ocf::{Context, OcfError};

use crate::config::Config;
use crate::db::Db;

/// Replica role: no event fires here.
pub(crate) fn stop_scheduler(db: &mut Db, action: &str) -> Result<(), OcfError> {
    let now =
        db.value("reading event_scheduler", "SELECT @@global.event_scheduler").context(action)?;
    // DISABLED (set at startup) cannot be changed and runs nothing either.
    if now.eq_ignore_ascii_case("ON") {
        db.exec("stopping the event scheduler", "SET GLOBAL event_scheduler=OFF")
            .context(action)?;
        log::info!("event scheduler switched off (a replica runs no events)");
    }
    Ok(())
}

/// Primary role with `event_scheduler=true`: re-enable the events replication disabled, then
/// start the scheduler.
pub(crate) fn start_on_primary(cfg: &Config, db: &mut Db) -> Result<(), OcfError> {
    if !cfg.event_scheduler {
        return Ok(());
    }
    let rows = db
        .rows(
            "listing replicated events",
            // mysql.event, not information_schema.EVENTS: no temporary table in `tmpdir`.
            "SELECT db, name FROM mysql.event WHERE status = 'SLAVESIDE_DISABLED'",
        )
        .context("promote")?;
    for r in rows {
        let (Some(schema), Some(name)) = (r.get("db"), r.get("name")) else {
            continue;
        };
        let id = |s: &str| format!("`{}`", s.replace('`', "``"));
        db.exec(
            "enabling a replicated event",
            &format!("ALTER EVENT {}.{} ENABLE", id(schema), id(name)),
        )
        .context("promote")?;
        log::info!("event {schema}.{name} enabled on the new primary");
    }
    db.exec("starting the event scheduler", "SET GLOBAL event_scheduler=ON").context("promote")
}
