//! `ferroha-api` — the reference REST API service of the ferroha stack.
//!
//! An HTTP/1.1 JSON API over a `records` table in MariaDB, meant to run on the active node
//! behind the VIP (see `docs/api.md`):
//!
//! - `GET /health`: the process answers; `GET /ready`: the database is reachable **and
//!   writable** (503 on a read-only or unreachable server, so a health check sees a stale
//!   primary);
//! - `POST/GET/PUT/DELETE /v1/records[/{id}]`, paged listing; writes need
//!   `Authorization: Bearer <token>`, and reads too with `reads_need_token = true`;
//! - every error is a JSON body `{"error": "<code>", "message": "<sentence>"}`.
//!
//! axum on a current-thread tokio runtime; MariaDB through the synchronous `mysql` client in
//! `spawn_blocking`. One JSON log line per request on stderr (method, path, status, ms); the
//! token, the password and request headers are never logged. SIGTERM/SIGINT drain in-flight
//! requests and exit 0.

pub mod config;
pub mod db;

use std::io::Write;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use clap::Parser;
use serde::Deserialize;
use serde_json::{Value, json};

use config::{Config, Flags};
use db::{Db, DbError};

/// Write one JSON log line to stderr: `{"ts":…, "level":…, "msg":…, <fields>}`.
pub fn log_line(level: &str, msg: &str, fields: &[(&str, Value)]) {
    let ts = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
    let mut m = serde_json::Map::new();
    m.insert("ts".into(), json!((ts * 1000.0).round() / 1000.0));
    m.insert("level".into(), json!(level));
    m.insert("msg".into(), json!(msg));
    for (k, v) in fields {
        m.insert((*k).to_owned(), v.clone());
    }
    let mut line = Value::Object(m).to_string();
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// An API error: status, a stable code and one sentence, rendered as a JSON body.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into() }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.status, Json(json!({"error": self.code, "message": self.message})))
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

/// The one place a database failure becomes an HTTP answer (the table in docs/api.md).
impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        let unavailable = |message: &str| {
            log_line("warn", "database unavailable", &[("error", json!(e.to_string()))]);
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", message)
        };
        match &e {
            DbError::Unavailable(_) => unavailable("the database is unreachable"),
            DbError::PoolWait(_) => unavailable(
                "no database connection became free within db_timeout_ms (all pool_max in use)",
            ),
            DbError::Lost(_) => unavailable(
                "the database connection broke or timed out during the request; \
                 a write may have been applied",
            ),
            DbError::Busy(_) => unavailable(
                "the database gave up on the statement (lock wait, deadlock, time limit or \
                 kill) and rolled it back",
            ),
            DbError::ReadOnly(_) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_read_only",
                "the database is read-only (not the primary)",
            ),
            // Logged once by the Db, not on every request.
            DbError::Denied { grant, .. } => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "database_denied",
                format!("the database user lacks {grant}"),
            ),
            DbError::Other(_) => {
                log_line("error", "database error", &[("error", json!(e.to_string()))]);
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "database_error",
                    "the database reported an error",
                )
            }
        }
    }
}

type ApiResult = Result<Response, ApiError>;

/// Shared state of all handlers.
#[derive(Debug)]
pub struct App {
    cfg: Config,
    db: Db,
}

impl App {
    /// Build the state; does not touch the network.
    pub fn new(cfg: Config) -> Result<App, DbError> {
        let db = Db::new(&cfg)?;
        Ok(App { cfg, db })
    }
}

/// Run a blocking database call off the async threads.
async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&Db) -> Result<T, DbError> + Send + 'static,
) -> Result<T, ApiError> {
    let app = Arc::clone(app);
    match tokio::task::spawn_blocking(move || f(&app.db)).await {
        Ok(r) => r.map_err(ApiError::from),
        Err(e) => {
            log_line("error", "database task failed", &[("error", json!(e.to_string()))]);
            Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error"))
        }
    }
}

/// Constant-time comparison, so the token cannot be guessed byte by byte from timings.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Check `Authorization: Bearer <token>`; `what` ("writes", "reads") names what needs it.
fn authorize(headers: &HeaderMap, token: &str, what: &str) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            format!("{what} need an Authorization: Bearer token"),
        ));
    };
    // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
    let raw = value.as_bytes();
    let given = match raw.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case(b"bearer ") => &raw[7..],
        _ => b"",
    };
    if same(given, token.as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the bearer token is not valid",
        ))
    }
}

/// Writes always need the token.
fn authorize_write(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    authorize(headers, &app.cfg.token, "writes")
}

/// Reads need it with `reads_need_token = true`.
fn authorize_read(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    if app.cfg.reads_need_token { authorize(headers, &app.cfg.token, "reads") } else { Ok(()) }
}

/// A record as a client sends it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordIn {
    /// 1–255 characters.
    pub name: String,
    /// Any JSON value; null when absent.
    #[serde(default)]
    pub data: Value,
}

/// Parse and check a request body. Malformed JSON → 400; a well-formed body of the wrong shape
/// (types, missing or unknown fields) → 422; an oversized one → 413; non-JSON content → 415.
pub fn parse_record(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<RecordIn, ApiError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("");
        if !ct.trim_start().to_ascii_lowercase().starts_with("application/json") {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("Content-Type must be application/json, not '{ct}'"),
            ));
        }
    }
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                "the request body is larger than body_limit",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("cannot read the request body: {e}"),
            )
        }
    })?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("malformed JSON: {e}"))
    })?;
    let invalid = |m: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_record", m);
    if !value.is_object() {
        return Err(invalid("invalid record: the body must be a JSON object".to_owned()));
    }
    let rec: RecordIn =
        serde_json::from_value(value).map_err(|e| invalid(format!("invalid record: {e}")))?;
    let chars = rec.name.chars().count();
    if chars == 0 || chars > 255 {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_record",
            format!("invalid record: name must be 1 to 255 characters, not {chars}"),
        ));
    }
    Ok(rec)
}

fn parse_id(raw: &str) -> Result<u64, ApiError> {
    match raw.parse::<u64>() {
        Ok(id) if id > 0 => Ok(id),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_id",
            format!("id must be a positive integer, not '{raw}'"),
        )),
    }
}

fn not_found(id: u64) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("record {id} does not exist"))
}

/// Paging parameters: `limit` (1..=page_max, default 50) and `after` (an id, default 0).
pub fn parse_page(query: Option<&str>, page_max: u32) -> Result<(u64, u32), ApiError> {
    let bad = |m: String| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", m);
    let (mut after, mut limit) = (0u64, 50u32.min(page_max));
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "after" => {
                after =
                    v.parse().map_err(|_| bad(format!("after must be a record id, not '{v}'")))?
            }
            "limit" => {
                limit = match v.parse::<u32>() {
                    Ok(n) if (1..=page_max).contains(&n) => n,
                    _ => return Err(bad(format!("limit must be 1 to {page_max}, not '{v}'"))),
                }
            }
            _ => return Err(bad(format!("unknown query parameter '{k}' (known: limit, after)"))),
        }
    }
    Ok((after, limit))
}

async fn health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

async fn ready(State(app): State<Arc<App>>) -> Response {
    match blocking(&app, |db| db.ready()).await {
        Ok(()) => Json(json!({"status": "ready"})).into_response(),
        Err(e) => {
            let body = json!({"status": "not ready", "error": e.code, "message": e.message});
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

async fn list(State(app): State<Arc<App>>, headers: HeaderMap, RawQuery(q): RawQuery) -> ApiResult {
    authorize_read(&app, &headers)?;
    let (after, limit) = parse_page(q.as_deref(), app.cfg.page_max)?;
    // One more than asked tells whether there is a next page.
    let mut items = blocking(&app, move |db| db.list(after, limit + 1)).await?;
    let more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = if more { items.last().map(|r| r.id) } else { None };
    Ok(Json(json!({"items": items, "next_after": next})).into_response())
}

async fn create(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    authorize_write(&app, &headers)?;
    let rec = parse_record(&headers, body)?;
    let stored = blocking(&app, move |db| db.create(&rec.name, &rec.data)).await?;
    let location = HeaderValue::from_str(&format!("/v1/records/{}", stored.id))
        .unwrap_or_else(|_| HeaderValue::from_static("/v1/records"));
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(stored)).into_response())
}

async fn read(
    State(app): State<Arc<App>>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    authorize_read(&app, &headers)?;
    let id = parse_id(&raw)?;
    match blocking(&app, move |db| db.get(id)).await? {
        Some(r) => Ok(Json(r).into_response()),
        None => Err(not_found(id)),
    }
}

async fn update(
    State(app): State<Arc<App>>,
    Path(raw): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult {
    authorize_write(&app, &headers)?;
    let id = parse_id(&raw)?;
    let rec = parse_record(&headers, body)?;
    match blocking(&app, move |db| db.update(id, &rec.name, &rec.data)).await? {
        Some(r) => Ok(Json(r).into_response()),
        None => Err(not_found(id)),
    }
}

async fn delete(
    State(app): State<Arc<App>>,
    Path(raw): Path<String>,
    headers: HeaderMap,
) -> ApiResult {
    authorize_write(&app, &headers)?;
    let id = parse_id(&raw)?;
    if blocking(&app, move |db| db.delete(id)).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(not_found(id))
    }
}

async fn no_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no_route", "no such endpoint")
}

async fn no_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method not allowed on this endpoint",
    )
}

/// Bound the whole request by `request_timeout` and write the access log line.
async fn timeout_and_log(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let t0 = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let resp = match tokio::time::timeout(app.cfg.request_timeout, next.run(req)).await {
        Ok(resp) => resp,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!("the request took longer than {} ms", app.cfg.request_timeout.as_millis()),
        )
        .into_response(),
    };
    let ms = (t0.elapsed().as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
    log_line(
        "info",
        "request",
        &[
            ("method", json!(method)),
            ("path", json!(path)),
            ("status", json!(resp.status().as_u16())),
            ("ms", json!(ms)),
        ],
    );
    resp
}

/// The router with every endpoint, the body limit and the timeout/log middleware.
pub fn router(app: Arc<App>) -> Router {
    let limit = app.cfg.body_limit;
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/v1/records", get(list).post(create))
        .route("/v1/records/{id}", get(read).put(update).delete(delete))
        .fallback(no_route)
        .method_not_allowed_fallback(no_method)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&app), timeout_and_log))
        .with_state(app)
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        log_line(
            "error",
            "cannot install signal handlers; SIGTERM will kill without draining",
            &[],
        );
        return std::future::pending().await;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    log_line("info", "shutting down, draining requests", &[("signal", json!(name))]);
}

async fn serve(cfg: Config) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", cfg.listen))?;
    let app = Arc::new(App::new(cfg.clone()).map_err(|e| e.to_string())?);
    log_line(
        "info",
        "listening",
        &[
            ("listen", json!(cfg.listen.to_string())),
            (
                "db",
                json!(match &cfg.db_socket {
                    Some(s) => s.display().to_string(),
                    None => format!("{}:{}", cfg.db_host, cfg.db_port),
                }),
            ),
            ("db_user", json!(cfg.db_user)),
            ("db_name", json!(cfg.db_name)),
            ("pid", json!(std::process::id())),
        ],
    );
    let first = Arc::clone(&app);
    // Create the schema now if the database is there; otherwise on the first request.
    tokio::task::spawn_blocking(move || match first.db.ensure_schema() {
        Ok(()) => log_line("info", "schema ready", &[]),
        // Already logged once, as "missing grant".
        Err(DbError::Denied { .. }) => {}
        Err(e) => log_line("warn", "schema not created yet", &[("error", json!(e.to_string()))]),
    });
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(|e| format!("server error: {e}"))
}

/// The binary: parse flags, load the configuration, serve until SIGTERM.
/// Exit 0 after a graceful shutdown, 2 on a configuration error, 1 on a runtime error.
pub fn main() -> std::process::ExitCode {
    let flags = Flags::parse();
    let cfg = match Config::load(&flags) {
        Ok(c) => c,
        Err(e) => {
            log_line("error", "configuration error", &[("error", json!(e.to_string()))]);
            return std::process::ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            log_line("error", "cannot start the runtime", &[("error", json!(e.to_string()))]);
            return std::process::ExitCode::from(1);
        }
    };
    match rt.block_on(serve(cfg)) {
        Ok(()) => {
            log_line("info", "stopped", &[]);
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            log_line("error", "fatal", &[("error", json!(e))]);
            std::process::ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h
    }

    fn body(s: &str) -> Result<Bytes, BytesRejection> {
        Ok(Bytes::from(s.to_owned()))
    }

    #[test]
    fn record_bodies_are_classified() {
        let h = json_headers();
        let ok = parse_record(&h, body(r#"{"name":"a","data":{"x":[1]}}"#)).unwrap();
        assert_eq!(ok.name, "a");
        assert_eq!(ok.data, json!({"x": [1]}));
        assert_eq!(parse_record(&h, body(r#"{"name":"a"}"#)).unwrap().data, Value::Null);
        let e = parse_record(&h, body("{\"name\":")).unwrap_err();
        assert_eq!((e.status, e.code), (StatusCode::BAD_REQUEST, "malformed_json"));
        let e = parse_record(&h, body(r#"{"name":5}"#)).unwrap_err();
        assert_eq!((e.status, e.code), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_record"));
        assert!(e.message.contains("expected a string"), "{}", e.message);
        let e = parse_record(&h, body(r#"{"name":"a","extra":1}"#)).unwrap_err();
        assert!(e.message.contains("unknown field `extra`"), "{}", e.message);
        let e = parse_record(&h, body(r#"{"data":1}"#)).unwrap_err();
        assert!(e.message.contains("missing field `name`"), "{}", e.message);
        let e = parse_record(&h, body(r#"["name"]"#)).unwrap_err();
        assert_eq!(e.message, "invalid record: the body must be a JSON object");
        let e = parse_record(&h, body(r#"{"name":""}"#)).unwrap_err();
        assert_eq!(e.code, "invalid_record");
        let long = format!(r#"{{"name":"{}"}}"#, "é".repeat(256));
        assert!(parse_record(&h, body(&long)).unwrap_err().message.contains("not 256"));
        let mut text = HeaderMap::new();
        text.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let e = parse_record(&text, body(r#"{"name":"a"}"#)).unwrap_err();
        assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }

    #[test]
    fn tokens_compare_exactly() {
        let mut h = HeaderMap::new();
        let e = authorize(&h, "tok", "reads").unwrap_err();
        assert_eq!(
            (e.status, e.message.as_str()),
            (StatusCode::UNAUTHORIZED, "reads need an Authorization: Bearer token")
        );
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer tok"));
        assert!(authorize(&h, "tok", "writes").is_ok());
        assert!(authorize(&h, "to", "writes").is_err());
        assert!(authorize(&h, "tok2", "writes").is_err());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer tok"));
        assert!(authorize(&h, "tok", "writes").is_ok());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer TOK"));
        assert!(authorize(&h, "tok", "writes").is_err());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer"));
        assert!(authorize(&h, "tok", "writes").is_err());
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic tok"));
        assert!(authorize(&h, "tok", "writes").is_err());
    }

    #[test]
    fn ids_and_pages() {
        assert_eq!(parse_id("12").unwrap(), 12);
        assert_eq!(parse_id("0").unwrap_err().code, "bad_id");
        assert_eq!(parse_id("x").unwrap_err().code, "bad_id");
        assert_eq!(parse_page(None, 500).unwrap(), (0, 50));
        assert_eq!(parse_page(Some("limit=3&after=9"), 500).unwrap(), (9, 3));
        assert_eq!(parse_page(None, 10).unwrap(), (0, 10));
        assert!(parse_page(Some("limit=0"), 500).is_err());
        assert!(parse_page(Some("limit=501"), 500).is_err());
        assert!(parse_page(Some("after=-1"), 500).is_err());
        assert!(parse_page(Some("offset=1"), 500).unwrap_err().message.contains("offset"));
    }
}
