//! The `records` table in MariaDB, through the synchronous `mysql` client (called from
//! `spawn_blocking`). Every connection has connect/read/write timeouts, so a hung or unreachable
//! database turns into an error within `db_timeout` instead of a stuck request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, PooledConn};
use serde::Serialize;

use crate::config::Config;

/// A failure talking to MariaDB, classified for the HTTP status it maps to.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be made (down, unreachable, wrong credentials, timeout).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The server refuses writes (read_only / innodb_read_only).
    #[error("database is read-only: {0}")]
    ReadOnly(String),
    /// Anything else.
    #[error("database error: {0}")]
    Other(String),
}

/// MariaDB error codes that mean "this server does not take writes".
const READ_ONLY_CODES: &[u16] = &[
    1290, // ER_OPTION_PREVENTS_STATEMENT (--read-only)
    1836, // ER_READ_ONLY_MODE
    1015, // ER_CANT_LOCK (innodb_read_only)
    1792, // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
];

impl From<mysql::Error> for DbError {
    fn from(e: mysql::Error) -> Self {
        match &e {
            mysql::Error::MySqlError(m) if READ_ONLY_CODES.contains(&m.code) => {
                DbError::ReadOnly(m.message.clone())
            }
            mysql::Error::MySqlError(m) if m.code == 1045 || m.code == 1044 || m.code == 1049 => {
                // Access denied / unknown database: the service cannot work with this server.
                DbError::Unavailable(m.message.clone())
            }
            mysql::Error::IoError(_) | mysql::Error::DriverError(_) => {
                DbError::Unavailable(e.to_string())
            }
            _ => DbError::Other(e.to_string()),
        }
    }
}

/// One record as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Record {
    /// Primary key.
    pub id: u64,
    /// Name, 1–255 characters.
    pub name: String,
    /// Any JSON value.
    pub data: serde_json::Value,
    /// Creation time, UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub created_at: String,
    /// Last update, UTC.
    pub updated_at: String,
}

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS records (
        id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
        name VARCHAR(255) NOT NULL,
        data LONGTEXT NOT NULL,
        created_at DATETIME NOT NULL,
        updated_at DATETIME NOT NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "CREATE TABLE IF NOT EXISTS ferroha_ready (
        id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
        probed_at DATETIME(6) NOT NULL
    ) ENGINE=InnoDB",
    "INSERT IGNORE INTO ferroha_ready (id, probed_at) VALUES (1, UTC_TIMESTAMP(6))",
];

const COLUMNS: &str = "id, name, data, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ'), \
                       DATE_FORMAT(updated_at, '%Y-%m-%dT%H:%i:%sZ')";

type Row = (u64, String, String, String, String);

fn to_record((id, name, data, created_at, updated_at): Row) -> Record {
    // Stored by this service as serialized JSON; a hand-edited row shows as a string.
    let data = serde_json::from_str(&data).unwrap_or(serde_json::Value::String(data));
    Record { id, name, data, created_at, updated_at }
}

/// The connection pool plus the "schema exists" flag.
#[derive(Debug)]
pub struct Db {
    pool: Pool,
    wait: Duration,
    schema_ready: AtomicBool,
}

impl Db {
    /// A lazy pool: nothing connects until the first request, so the service starts (and
    /// `/health` answers) while the database is down.
    pub fn new(cfg: &Config) -> Result<Db, DbError> {
        let constraints = PoolConstraints::new(0, cfg.pool_max)
            .ok_or_else(|| DbError::Other("pool_max must be at least 1".to_owned()))?;
        let mut b = OptsBuilder::new()
            .user(Some(cfg.db_user.clone()))
            .pass(cfg.db_password.clone())
            .db_name(Some(cfg.db_name.clone()))
            .prefer_socket(false)
            .tcp_connect_timeout(Some(cfg.db_timeout))
            .read_timeout(Some(cfg.db_timeout))
            .write_timeout(Some(cfg.db_timeout))
            .pool_opts(PoolOpts::default().with_constraints(constraints));
        b = match &cfg.db_socket {
            Some(s) => b.socket(Some(s.to_string_lossy().into_owned())),
            None => b.ip_or_hostname(Some(cfg.db_host.clone())).tcp_port(cfg.db_port),
        };
        let pool = Pool::new(Opts::from(b)).map_err(DbError::from)?;
        Ok(Db { pool, wait: cfg.db_timeout, schema_ready: AtomicBool::new(false) })
    }

    /// A connection, with the schema created on the first successful one.
    fn conn(&self) -> Result<PooledConn, DbError> {
        let mut conn = self.pool.try_get_conn(self.wait).map_err(DbError::from)?;
        if !self.schema_ready.load(Ordering::Acquire) {
            match SCHEMA.iter().try_for_each(|stmt| conn.query_drop(stmt)).map_err(DbError::from) {
                Ok(()) => self.schema_ready.store(true, Ordering::Release),
                // A read-only server (a replica, or a demoted primary) refuses even
                // CREATE TABLE IF NOT EXISTS: reads of an existing table still work, and the
                // schema is tried again on the next connection.
                Err(DbError::ReadOnly(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(conn)
    }

    /// Try to create the schema now (at start-up); an error leaves it for the first request.
    pub fn ensure_schema(&self) -> Result<(), DbError> {
        self.conn().map(drop)
    }

    /// Reachable and writable: `read_only` and `innodb_read_only` off, and a write accepted
    /// (then rolled back, so probes leave nothing in the binlog).
    pub fn ready(&self) -> Result<(), DbError> {
        let mut conn = self.conn()?;
        let flags: Option<(u8, u8)> =
            conn.query_first("SELECT @@global.read_only, @@global.innodb_read_only")?;
        match flags {
            Some((0, 0)) => {}
            Some((ro, inno)) => {
                return Err(DbError::ReadOnly(format!("read_only={ro} innodb_read_only={inno}")));
            }
            None => return Err(DbError::Other("read_only query returned nothing".to_owned())),
        }
        conn.query_drop("START TRANSACTION")?;
        let probe =
            conn.query_drop("UPDATE ferroha_ready SET probed_at = UTC_TIMESTAMP(6) WHERE id = 1");
        let rollback = conn.query_drop("ROLLBACK");
        probe?;
        rollback?;
        Ok(())
    }

    /// Insert; returns the stored record.
    pub fn create(&self, name: &str, data: &serde_json::Value) -> Result<Record, DbError> {
        let mut conn = self.conn()?;
        conn.exec_drop(
            "INSERT INTO records (name, data, created_at, updated_at) \
             VALUES (?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
            (name, data.to_string()),
        )?;
        let id = conn.last_insert_id();
        self.get_with(&mut conn, id)?
            .ok_or_else(|| DbError::Other(format!("record {id} vanished after insert")))
    }

    fn get_with(&self, conn: &mut PooledConn, id: u64) -> Result<Option<Record>, DbError> {
        let row: Option<Row> =
            conn.exec_first(format!("SELECT {COLUMNS} FROM records WHERE id = ?"), (id,))?;
        Ok(row.map(to_record))
    }

    /// One record.
    pub fn get(&self, id: u64) -> Result<Option<Record>, DbError> {
        let mut conn = self.conn()?;
        self.get_with(&mut conn, id)
    }

    /// Up to `limit` records with id > `after`, in id order.
    pub fn list(&self, after: u64, limit: u32) -> Result<Vec<Record>, DbError> {
        let mut conn = self.conn()?;
        let rows: Vec<Row> = conn.exec(
            format!("SELECT {COLUMNS} FROM records WHERE id > ? ORDER BY id LIMIT ?"),
            (after, limit),
        )?;
        Ok(rows.into_iter().map(to_record).collect())
    }

    /// Replace name and data; `None` when there is no such record.
    pub fn update(
        &self,
        id: u64,
        name: &str,
        data: &serde_json::Value,
    ) -> Result<Option<Record>, DbError> {
        let mut conn = self.conn()?;
        conn.exec_drop(
            "UPDATE records SET name = ?, data = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
            (name, data.to_string(), id),
        )?;
        // affected_rows is 0 for an unchanged row too, so look the row up.
        self.get_with(&mut conn, id)
    }

    /// Delete; false when there was no such record.
    pub fn delete(&self, id: u64) -> Result<bool, DbError> {
        let mut conn = self.conn()?;
        conn.exec_drop("DELETE FROM records WHERE id = ?", (id,))?;
        Ok(conn.affected_rows() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_records() {
        let r = to_record((7, "n".into(), r#"{"a":1}"#.into(), "c".into(), "u".into()));
        assert_eq!(r.data, serde_json::json!({"a": 1}));
        let r = to_record((7, "n".into(), "not json".into(), "c".into(), "u".into()));
        assert_eq!(r.data, serde_json::json!("not json"));
    }

    #[test]
    fn read_only_errors_are_classified() {
        let e = mysql::Error::MySqlError(mysql::MySqlError {
            state: "HY000".into(),
            message: "The MariaDB server is running with the --read-only option".into(),
            code: 1290,
        });
        assert!(matches!(DbError::from(e), DbError::ReadOnly(_)));
        let e = mysql::Error::MySqlError(mysql::MySqlError {
            state: "28000".into(),
            message: "Access denied".into(),
            code: 1045,
        });
        assert!(matches!(DbError::from(e), DbError::Unavailable(_)));
        let e = mysql::Error::MySqlError(mysql::MySqlError {
            state: "42000".into(),
            message: "syntax".into(),
            code: 1064,
        });
        assert!(matches!(DbError::from(e), DbError::Other(_)));
    }
}
