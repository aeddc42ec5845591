//! The `records` table in MariaDB, through the synchronous `mysql` client (called from
//! `spawn_blocking`). Every connection has connect/read/write timeouts, so a hung or unreachable
//! database turns into an error within `db_timeout` instead of a stuck request.
//!
//! Every driver error is classified once, in [`classify`], and turned into a [`DbError`] by
//! where it happened (getting a connection, creating the database, running a statement); the
//! HTTP answer of each `DbError` is decided in one place in `lib.rs`. The table is in
//! docs/api.md ("Database failures").

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{
    Conn, DriverError, MySqlError, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, PooledConn,
};
use mysql_common::proto::codec::error::PacketCodecError;
use serde::Serialize;
use serde_json::json;

use crate::config::Config;
use crate::log_line;

/// The privileges the service needs on its database (`GRANT … ON `<db_name>`.*`). CREATE also
/// lets it create the database itself when it is missing.
pub const GRANTS: &str = "SELECT, INSERT, UPDATE, DELETE, CREATE";

/// A failure talking to MariaDB, classified for the HTTP answer it maps to.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had: down, refused, timed out (connect, handshake),
    /// too many connections, or the login refused.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Every pooled connection stayed in use for `db_timeout` (the pool wait timed out).
    #[error("no database connection free: {0}")]
    PoolWait(String),
    /// The connection broke or timed out while a statement ran: it may have been applied.
    #[error("database connection lost: {0}")]
    Lost(String),
    /// The server gave up on the statement and rolled it back (lock wait timeout, deadlock,
    /// `max_statement_time`, a killed query).
    #[error("database gave up on the statement: {0}")]
    Busy(String),
    /// The server refuses writes (read_only / innodb_read_only).
    #[error("database is read-only: {0}")]
    ReadOnly(String),
    /// The user lacks a privilege; `grant` names it (``CREATE on `ferroha`.*``).
    #[error("database user lacks {grant}: {detail}")]
    Denied {
        /// What to grant.
        grant: String,
        /// The server's message.
        detail: String,
    },
    /// Anything else: a bug, a hand-edited table, a packet over `max_allowed_packet`.
    #[error("database error: {0}")]
    Other(String),
}

/// What a driver error means for the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// The connection cannot be made or can no longer be used: I/O errors (refused, reset,
    /// closed, timed out), a broken protocol stream, a failed handshake, the server shutting
    /// down or killing the connection, connection limits, a refused login.
    Link,
    /// The server rolled the statement back and the connection is fine.
    Busy,
    /// The server refuses writes.
    ReadOnly,
    /// A privilege is missing.
    Denied,
    /// The database does not exist.
    NoDatabase,
    /// Anything else.
    Other,
}

/// MariaDB error codes that mean "this server does not take writes".
const READ_ONLY_CODES: &[u16] = &[
    1290, // ER_OPTION_PREVENTS_STATEMENT (--read-only)
    1836, // ER_READ_ONLY_MODE
    1015, // ER_CANT_LOCK (innodb_read_only)
    1792, // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
];

/// Server errors after which this connection is gone or was never usable.
const LINK_CODES: &[u16] = &[
    1040, // ER_CON_COUNT_ERROR: too many connections
    1203, // ER_TOO_MANY_USER_CONNECTIONS
    1226, // ER_USER_LIMIT_REACHED (max_questions, max_connections_per_hour…)
    1043, // ER_HANDSHAKE_ERROR
    1045, // ER_ACCESS_DENIED_ERROR: wrong user or password
    1698, // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
    1862, // ER_MUST_CHANGE_PASSWORD_LOGIN: password expired
    1820, // ER_MUST_CHANGE_PASSWORD
    4151, // ER_ACCOUNT_HAS_BEEN_LOCKED
    1129, // ER_HOST_IS_BLOCKED
    1130, // ER_HOST_NOT_PRIVILEGED
    1053, // ER_SERVER_SHUTDOWN
    1927, // ER_CONNECTION_KILLED (KILL CONNECTION, e.g. a demoted primary's clients)
    1152, // ER_ABORTING_CONNECTION
    1184, // ER_NEW_ABORTING_CONNECTION
    1154, // ER_NET_READ_ERROR_FROM_PIPE
    1155, // ER_NET_FCNTL_ERROR
    1156, // ER_NET_PACKETS_OUT_OF_ORDER
    1157, // ER_NET_UNCOMPRESS_ERROR
    1158, // ER_NET_READ_ERROR
    1159, // ER_NET_READ_INTERRUPTED: the server timed out reading from us
    1160, // ER_NET_ERROR_ON_WRITE
    1161, // ER_NET_WRITE_INTERRUPTED
];

/// Server errors after which the statement was rolled back and the connection still works.
const BUSY_CODES: &[u16] = &[
    1205, // ER_LOCK_WAIT_TIMEOUT
    1213, // ER_LOCK_DEADLOCK
    1969, // ER_STATEMENT_TIMEOUT (max_statement_time)
    1317, // ER_QUERY_INTERRUPTED (KILL QUERY)
];

/// Server errors naming a missing privilege.
const DENIED_CODES: &[u16] = &[
    1044, // ER_DBACCESS_DENIED_ERROR: no privilege on the database (or may not create it)
    1142, // ER_TABLEACCESS_DENIED_ERROR: "<CMD> command denied … for table"
    1143, // ER_COLUMNACCESS_DENIED_ERROR: "<CMD> command denied … for column"
    1227, // ER_SPECIFIC_ACCESS_DENIED_ERROR
    1370, // ER_PROCACCESS_DENIED_ERROR
];

const ER_BAD_DB_ERROR: u16 = 1049;
const ER_DBACCESS_DENIED_ERROR: u16 = 1044;

/// Classify a driver error. Deliberately exhaustive (no `_` arm over the driver's enums), so a
/// new variant in a driver upgrade fails to compile until it is placed.
pub fn classify(e: &mysql::Error) -> Class {
    use Class::*;
    match e {
        // Every I/O error is on the connection: refused, reset, EOF ("server disconnected"),
        // EPIPE, read/write timeouts (EAGAIN), a bad handshake packet.
        mysql::Error::IoError(_) => Link,
        mysql::Error::CodecError(c) => match c {
            PacketCodecError::Io(_) => Link,
            PacketCodecError::PacketsOutOfSync | PacketCodecError::BadCompressedPacketHeader => {
                Link
            }
            // A packet over max_allowed_packet: the request, not the server, is the problem.
            PacketCodecError::PacketTooLarge => Other,
        },
        mysql::Error::MySqlError(m) => classify_server(m),
        mysql::Error::DriverError(d) => match d {
            DriverError::ConnectTimeout
            | DriverError::CouldNotConnect(_)
            | DriverError::Timeout // the pool wait
            | DriverError::SetupError
            | DriverError::UnsupportedProtocol(_)
            | DriverError::Protocol41NotSet
            | DriverError::CouldNotParseVersion
            | DriverError::TlsNotSupported
            | DriverError::UnknownAuthPlugin(_)
            | DriverError::OldMysqlPasswordDisabled
            | DriverError::CleartextPluginDisabled
            | DriverError::InvalidParsecSalt
            | DriverError::PacketOutOfSync
            | DriverError::UnexpectedPacket => Link,
            // Bugs in this service's statements or set-up, not the database's state.
            DriverError::PacketTooLarge
            | DriverError::MismatchedStmtParams(..)
            | DriverError::Params(_)
            | DriverError::MixedParams
            | DriverError::BulkExecute(_)
            | DriverError::InvalidPoolConstraints
            | DriverError::ReadOnlyTransNotSupported
            | DriverError::PoisonedPoolMutex => Other,
        },
        // Only from parsing a URL, which the service does not use.
        mysql::Error::UrlError(_) => Other,
        // A row or value of an unexpected type (a hand-altered table).
        mysql::Error::FromValueError(_) | mysql::Error::FromRowError(_) => Other,
    }
}

fn classify_server(m: &MySqlError) -> Class {
    match m.code {
        c if READ_ONLY_CODES.contains(&c) => Class::ReadOnly,
        c if LINK_CODES.contains(&c) => Class::Link,
        c if BUSY_CODES.contains(&c) => Class::Busy,
        c if DENIED_CODES.contains(&c) => Class::Denied,
        ER_BAD_DB_ERROR => Class::NoDatabase,
        _ => Class::Other,
    }
}

/// Where an error happened: it decides whether a broken link may have applied a statement,
/// and which grant a refusal asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Connect,
    CreateDatabase,
    Statement,
}

/// An identifier in backticks, inner backticks doubled.
fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The privilege a refusal asks for, from the server's "`<CMD>` command denied to user …"
/// (1142, 1143); `None` for other messages.
fn denied_command(message: &str) -> Option<&str> {
    let cmd = message.split_once(" command denied to user ")?.0.trim();
    (!cmd.is_empty() && cmd.chars().all(|c| c.is_ascii_uppercase() || c == ' ')).then_some(cmd)
}

/// The grant to ask for, for a refusal `m` at `step` on database `db`.
fn missing_grant(m: &MySqlError, step: Step, db: &str) -> String {
    let on = format!("on {}.*", ident(db));
    match (m.code, step) {
        // Connecting with the database as default: the user has no privilege on it at all
        // (MariaDB then hides whether it exists).
        (ER_DBACCESS_DENIED_ERROR, Step::Connect) => format!("{GRANTS} {on}"),
        (ER_DBACCESS_DENIED_ERROR, Step::CreateDatabase) => format!("CREATE {on}"),
        _ => match denied_command(&m.message) {
            Some(cmd) => format!("{cmd} {on}"),
            None => m.message.clone(),
        },
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

/// The write probe of `/ready`, inside a transaction that is rolled back: each statement the
/// service's writes need, so a missing grant shows here before a client meets it.
const PROBE: &[&str] = &[
    "UPDATE ferroha_ready SET probed_at = UTC_TIMESTAMP(6) WHERE id = 1",
    "DELETE FROM ferroha_ready WHERE id = 1",
    "INSERT INTO ferroha_ready (id, probed_at) VALUES (1, UTC_TIMESTAMP(6))",
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
    /// The same login without a default database, to create it.
    server: Opts,
    name: String,
    user: String,
    wait: Duration,
    schema_ready: AtomicBool,
    /// The missing grant last logged, so a refusal is logged once, not on every request.
    denied_logged: Mutex<Option<String>>,
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
            .prefer_socket(false)
            .tcp_connect_timeout(Some(cfg.db_timeout))
            .read_timeout(Some(cfg.db_timeout))
            .write_timeout(Some(cfg.db_timeout))
            .pool_opts(PoolOpts::default().with_constraints(constraints));
        b = match &cfg.db_socket {
            Some(s) => b.socket(Some(s.to_string_lossy().into_owned())),
            None => b.ip_or_hostname(Some(cfg.db_host.clone())).tcp_port(cfg.db_port),
        };
        let server = Opts::from(b.clone());
        let pool = Pool::new(Opts::from(b.db_name(Some(cfg.db_name.clone()))))
            .map_err(|e| DbError::Other(e.to_string()))?;
        Ok(Db {
            pool,
            server,
            name: cfg.db_name.clone(),
            user: cfg.db_user.clone(),
            wait: cfg.db_timeout,
            schema_ready: AtomicBool::new(false),
            denied_logged: Mutex::new(None),
        })
    }

    /// Turn a driver error at `step` into a [`DbError`]; a missing grant is logged once.
    fn fail(&self, e: mysql::Error, step: Step) -> DbError {
        let detail = e.to_string();
        match (classify(&e), &e) {
            (Class::Link, mysql::Error::DriverError(DriverError::Timeout)) => {
                DbError::PoolWait(detail)
            }
            (Class::Link, _) if step == Step::Statement => DbError::Lost(detail),
            (Class::Link, _) => DbError::Unavailable(detail),
            (Class::Busy, _) => DbError::Busy(detail),
            (Class::ReadOnly, _) => DbError::ReadOnly(detail),
            (Class::Denied, mysql::Error::MySqlError(m)) => {
                let grant = missing_grant(m, step, &self.name);
                let mut last = self.denied_logged.lock().unwrap_or_else(|p| p.into_inner());
                if last.as_deref() != Some(grant.as_str()) {
                    log_line(
                        "error",
                        "missing grant",
                        &[
                            ("grant", json!(grant)),
                            ("db_user", json!(self.user)),
                            ("error", json!(detail)),
                        ],
                    );
                    *last = Some(grant.clone());
                }
                DbError::Denied { grant, detail }
            }
            (Class::NoDatabase, _) => DbError::Unavailable(detail),
            (Class::Denied | Class::Other, _) => DbError::Other(detail),
        }
    }

    /// A statement on `conn` failed: classify, and if the connection broke or timed out, shut
    /// it down so the pool drops it instead of reusing it.
    fn broke(&self, conn: &PooledConn, e: mysql::Error) -> DbError {
        if classify(&e) == Class::Link {
            discard(conn);
        }
        self.fail(e, Step::Statement)
    }

    /// Forget the logged refusal once things work, so a new one is logged again.
    fn granted(&self) {
        *self.denied_logged.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// `CREATE DATABASE IF NOT EXISTS`, over a connection without a default database; never on
    /// a read-only server.
    fn create_database(&self) -> Result<(), DbError> {
        let mut conn = Conn::new(self.server.clone()).map_err(|e| self.fail(e, Step::Connect))?;
        if read_only(&mut conn).map_err(|e| self.fail(e, Step::Connect))? {
            return Err(DbError::ReadOnly("read_only=1: the database is not created".to_owned()));
        }
        conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", ident(&self.name)))
            .map_err(|e| self.fail(e, Step::CreateDatabase))?;
        if conn.affected_rows() > 0 {
            log_line("info", "database created", &[("db_name", json!(self.name))]);
        }
        Ok(())
    }

    /// A connection, with the database created when it is missing and the schema on the first
    /// successful connection.
    fn conn(&self) -> Result<PooledConn, DbError> {
        let mut conn = match self.pool.try_get_conn(self.wait) {
            Err(mysql::Error::MySqlError(m)) if m.code == ER_BAD_DB_ERROR => {
                self.create_database()?;
                self.pool.try_get_conn(self.wait)
            }
            got => got,
        }
        .map_err(|e| self.fail(e, Step::Connect))?;
        if !self.schema_ready.load(Ordering::Acquire) {
            // Not on a read-only server (a replica, or a demoted primary): it refuses even
            // CREATE TABLE IF NOT EXISTS, and a user it does not stop (SUPER, READ_ONLY ADMIN)
            // would write an errant transaction into a replica's binlog. Reads of an existing
            // table still work, and the schema is tried again on the next connection.
            let created = read_only(&mut conn).and_then(|ro| match ro {
                true => Ok(false),
                false => SCHEMA.iter().try_for_each(|stmt| conn.query_drop(stmt)).map(|()| true),
            });
            match created {
                Ok(true) => self.schema_ready.store(true, Ordering::Release),
                Ok(false) => {}
                Err(e) => match self.broke(&conn, e) {
                    DbError::ReadOnly(_) => {}
                    e => return Err(e),
                },
            }
        }
        Ok(conn)
    }

    /// Try to create the schema now (at start-up); an error leaves it for the first request.
    pub fn ensure_schema(&self) -> Result<(), DbError> {
        self.conn().map(drop)
    }

    /// Reachable and writable: `read_only` and `innodb_read_only` off, and the writes the
    /// service makes accepted (then rolled back, so probes leave nothing in the binlog).
    pub fn ready(&self) -> Result<(), DbError> {
        let mut conn = self.conn()?;
        let flags: Option<(u8, u8)> = conn
            .query_first("SELECT @@global.read_only, @@global.innodb_read_only")
            .map_err(|e| self.broke(&conn, e))?;
        match flags {
            Some((0, 0)) => {}
            Some((ro, inno)) => {
                return Err(DbError::ReadOnly(format!("read_only={ro} innodb_read_only={inno}")));
            }
            None => return Err(DbError::Other("read_only query returned nothing".to_owned())),
        }
        conn.query_drop("START TRANSACTION").map_err(|e| self.broke(&conn, e))?;
        let probe = PROBE.iter().try_for_each(|q| conn.query_drop(q));
        let rollback = conn.query_drop("ROLLBACK");
        probe.map_err(|e| self.broke(&conn, e))?;
        rollback.map_err(|e| self.broke(&conn, e))?;
        self.granted();
        Ok(())
    }

    /// Run `f` on a connection; its errors count as errors of a running statement.
    fn with<T>(&self, f: impl FnOnce(&mut PooledConn) -> mysql::Result<T>) -> Result<T, DbError> {
        let mut conn = self.conn()?;
        f(&mut conn).map_err(|e| self.broke(&conn, e))
    }

    /// Insert; returns the stored record.
    pub fn create(&self, name: &str, data: &serde_json::Value) -> Result<Record, DbError> {
        let (id, rec) = self.with(|conn| {
            conn.exec_drop(
                "INSERT INTO records (name, data, created_at, updated_at) \
                 VALUES (?, ?, UTC_TIMESTAMP(), UTC_TIMESTAMP())",
                (name, data.to_string()),
            )?;
            let id = conn.last_insert_id();
            Ok((id, get_with(conn, id)?))
        })?;
        rec.ok_or_else(|| DbError::Other(format!("record {id} vanished after insert")))
    }

    /// One record.
    pub fn get(&self, id: u64) -> Result<Option<Record>, DbError> {
        self.with(|conn| get_with(conn, id))
    }

    /// Up to `limit` records with id > `after`, in id order.
    pub fn list(&self, after: u64, limit: u32) -> Result<Vec<Record>, DbError> {
        let rows: Vec<Row> = self.with(|conn| {
            conn.exec(
                format!("SELECT {COLUMNS} FROM records WHERE id > ? ORDER BY id LIMIT ?"),
                (after, limit),
            )
        })?;
        Ok(rows.into_iter().map(to_record).collect())
    }

    /// Replace name and data; `None` when there is no such record.
    pub fn update(
        &self,
        id: u64,
        name: &str,
        data: &serde_json::Value,
    ) -> Result<Option<Record>, DbError> {
        self.with(|conn| {
            conn.exec_drop(
                "UPDATE records SET name = ?, data = ?, updated_at = UTC_TIMESTAMP() WHERE id = ?",
                (name, data.to_string(), id),
            )?;
            // affected_rows is 0 for an unchanged row too, so look the row up.
            get_with(conn, id)
        })
    }

    /// Delete; false when there was no such record.
    pub fn delete(&self, id: u64) -> Result<bool, DbError> {
        self.with(|conn| {
            conn.exec_drop("DELETE FROM records WHERE id = ?", (id,))?;
            Ok(conn.affected_rows() > 0)
        })
    }
}

/// `@@global.read_only` of the server.
fn read_only(conn: &mut impl Queryable) -> mysql::Result<bool> {
    let ro: Option<u8> = conn.query_first("SELECT @@global.read_only")?;
    Ok(ro.is_some_and(|v| v != 0))
}

/// Shut down the socket of a connection that broke or timed out during a statement. The pool
/// would otherwise take it back (its reset on return can succeed on the late reply of the
/// timed-out statement), and a later statement would read a reply meant for an earlier one.
/// After `shutdown(2)` the reset fails and the pool drops the connection.
#[allow(unsafe_code)]
fn discard(conn: &PooledConn) {
    use std::os::fd::AsRawFd;
    // SAFETY: shutdown(2) on the socket `conn` owns and keeps open while borrowed here; it
    // does not close the descriptor, and its result is irrelevant (the socket may be dead).
    unsafe {
        libc::shutdown(conn.as_raw_fd(), libc::SHUT_RDWR);
    }
}

fn get_with(conn: &mut PooledConn, id: u64) -> mysql::Result<Option<Record>> {
    let row: Option<Row> =
        conn.exec_first(format!("SELECT {COLUMNS} FROM records WHERE id = ?"), (id,))?;
    Ok(row.map(to_record))
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

    fn server(code: u16, message: &str) -> mysql::Error {
        mysql::Error::MySqlError(MySqlError {
            state: "HY000".into(),
            message: message.into(),
            code,
        })
    }

    fn io(kind: std::io::ErrorKind) -> std::io::Error {
        std::io::Error::new(kind, "x")
    }

    #[test]
    fn every_driver_error_kind_is_classified() {
        use Class::*;
        use std::io::ErrorKind as K;
        let cases: Vec<(mysql::Error, Class)> = vec![
            (mysql::Error::server_disconnected(), Link),
            (mysql::Error::IoError(io(K::ConnectionRefused)), Link),
            // Read/write timeouts (SO_RCVTIMEO gives EAGAIN) and a reset, from the codec.
            (mysql::Error::CodecError(PacketCodecError::Io(io(K::WouldBlock))), Link),
            (mysql::Error::CodecError(PacketCodecError::Io(io(K::TimedOut))), Link),
            (mysql::Error::CodecError(PacketCodecError::Io(io(K::ConnectionReset))), Link),
            (mysql::Error::CodecError(PacketCodecError::PacketsOutOfSync), Link),
            (mysql::Error::CodecError(PacketCodecError::BadCompressedPacketHeader), Link),
            (mysql::Error::CodecError(PacketCodecError::PacketTooLarge), Other),
            (DriverError::ConnectTimeout.into(), Link),
            (DriverError::Timeout.into(), Link),
            (DriverError::CouldNotConnect(None).into(), Link),
            (DriverError::UnexpectedPacket.into(), Link),
            (DriverError::UnknownAuthPlugin("x".into()).into(), Link),
            (DriverError::MismatchedStmtParams(2, 1).into(), Other),
            (DriverError::MixedParams.into(), Other),
            (DriverError::PoisonedPoolMutex.into(), Other),
            (mysql::Error::UrlError(mysql::UrlError::BadUrl), Other),
            (mysql::Error::FromValueError(mysql::Value::NULL), Other),
            (server(1290, "The MariaDB server is running with the --read-only option"), ReadOnly),
            (server(1836, "Running in read-only mode"), ReadOnly),
            (server(1045, "Access denied"), Link),
            (server(1040, "Too many connections"), Link),
            (server(1927, "Connection was killed"), Link),
            (server(1053, "Server shutdown in progress"), Link),
            (server(1205, "Lock wait timeout exceeded"), Busy),
            (server(1213, "Deadlock found"), Busy),
            (server(1969, "max_statement_time exceeded"), Busy),
            (server(1044, "Access denied for user 'a'@'b' to database 'd'"), Denied),
            (server(1142, "CREATE command denied"), Denied),
            (server(1049, "Unknown database 'd'"), NoDatabase),
            (server(1064, "syntax"), Other),
            (server(1146, "Table 'd.records' doesn't exist"), Other),
        ];
        for (e, class) in cases {
            assert_eq!(classify(&e), class, "{e}");
        }
    }

    #[test]
    fn refusals_name_the_grant() {
        let m = |code, msg: &str| MySqlError { state: "42000".into(), message: msg.into(), code };
        let t = m(1142, "CREATE command denied to user 'u'@'localhost' for table `fh`.`records`");
        assert_eq!(missing_grant(&t, Step::Statement, "fh"), "CREATE on `fh`.*");
        let c =
            m(1143, "SELECT command denied to user 'u'@'localhost' for column 'id' in table 't'");
        assert_eq!(missing_grant(&c, Step::Statement, "fh"), "SELECT on `fh`.*");
        let d = m(1044, "Access denied for user 'u'@'localhost' to database 'fh'");
        assert_eq!(missing_grant(&d, Step::CreateDatabase, "fh"), "CREATE on `fh`.*");
        assert_eq!(
            missing_grant(&d, Step::Connect, "a`b"),
            "SELECT, INSERT, UPDATE, DELETE, CREATE on `a``b`.*"
        );
        let other = m(1142, "Befehl CREATE nicht erlaubt");
        assert_eq!(missing_grant(&other, Step::Statement, "fh"), "Befehl CREATE nicht erlaubt");
    }
}
