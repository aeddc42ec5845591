//! Configuration: a `key = value` file (TOML is not a workspace dependency, and this subset is
//! all the service needs) overridden by command-line flags, plus the two secret files.
//!
//! Secrets never come from argv: only their file paths do, and a file readable by group or
//! others is refused, so a mistake cannot leave the token world-readable.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;

/// A configuration problem, reported before the service starts (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line of the config file is not `key = value`.
    #[error("{path}:{line}: {msg}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        msg: String,
    },
    /// A value does not parse.
    #[error("{key}: {msg}")]
    Value {
        /// The setting.
        key: &'static str,
        /// What is wrong.
        msg: String,
    },
    /// A secret file is missing, unreadable, empty or too open.
    #[error("{key} {path}: {msg}")]
    Secret {
        /// The setting.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        msg: String,
    },
}

/// Command-line flags; each overrides the same key of the config file (`--db-host` ↔ `db_host`).
#[derive(Debug, Default, Parser)]
#[command(name = "ferroha-api", version, about = "REST API over a MariaDB records table")]
pub struct Flags {
    /// Config file of `key = value` lines (`#` starts a comment).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<String>,
    /// MariaDB host (the VIP) [default: 127.0.0.1].
    #[arg(long)]
    pub db_host: Option<String>,
    /// MariaDB TCP port [default: 3306].
    #[arg(long)]
    pub db_port: Option<String>,
    /// MariaDB unix socket; when set, used instead of host and port.
    #[arg(long)]
    pub db_socket: Option<String>,
    /// MariaDB user [default: ferroha].
    #[arg(long)]
    pub db_user: Option<String>,
    /// Database holding the records table [default: ferroha].
    #[arg(long)]
    pub db_name: Option<String>,
    /// File holding the MariaDB password (mode 0600 or stricter); none means no password.
    #[arg(long)]
    pub db_password_file: Option<String>,
    /// File holding the bearer token that writes need (mode 0600 or stricter). Required.
    #[arg(long)]
    pub token_file: Option<String>,
    /// `true`: reads of records need the bearer token too [default: false].
    #[arg(long, value_name = "true|false")]
    pub reads_need_token: Option<String>,
    /// Whole-request timeout in milliseconds [default: 5000].
    #[arg(long)]
    pub request_timeout_ms: Option<String>,
    /// MariaDB connect/read/write timeout in milliseconds [default: 2000].
    #[arg(long)]
    pub db_timeout_ms: Option<String>,
    /// Largest request body in bytes [default: 65536].
    #[arg(long)]
    pub body_limit: Option<String>,
    /// Largest page size for listing [default: 500].
    #[arg(long)]
    pub page_max: Option<String>,
    /// Most MariaDB connections kept open [default: 8].
    #[arg(long)]
    pub pool_max: Option<String>,
}

/// The settings the file may contain, in the order `--help` shows them.
pub const KEYS: &[&str] = &[
    "listen",
    "db_host",
    "db_port",
    "db_socket",
    "db_user",
    "db_name",
    "db_password_file",
    "token_file",
    "reads_need_token",
    "request_timeout_ms",
    "db_timeout_ms",
    "body_limit",
    "page_max",
    "pool_max",
];

/// The validated configuration. Secrets are loaded, and kept out of `Debug`.
#[derive(Clone)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Host.
    pub db_host: String,
    /// Port.
    pub db_port: u16,
    /// Socket, preferred over host and port when set.
    pub db_socket: Option<PathBuf>,
    /// User.
    pub db_user: String,
    /// Database.
    pub db_name: String,
    /// Password (from `db_password_file`).
    pub db_password: Option<String>,
    /// Bearer token (from `token_file`).
    pub token: String,
    /// Whether `GET /v1/records[/{id}]` need the token too.
    pub reads_need_token: bool,
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// DB connect/read/write timeout.
    pub db_timeout: Duration,
    /// Body limit, bytes.
    pub body_limit: usize,
    /// Largest page.
    pub page_max: u32,
    /// Pool size.
    pub pool_max: usize,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("db_host", &self.db_host)
            .field("db_port", &self.db_port)
            .field("db_socket", &self.db_socket)
            .field("db_user", &self.db_user)
            .field("db_name", &self.db_name)
            .field("db_password", &self.db_password.as_ref().map(|_| "<redacted>"))
            .field("token", &"<redacted>")
            .field("reads_need_token", &self.reads_need_token)
            .finish_non_exhaustive()
    }
}

/// Parse `key = value` lines: blank lines and `#` comments are skipped, values may be quoted
/// with `"`, and each key must be one of [`KEYS`] and appear once.
pub fn parse_file(text: &str, path: &Path) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |msg: String| ConfigError::Syntax { path: path.to_owned(), line: i + 1, msg };
        let (key, value) =
            line.split_once('=').ok_or_else(|| err("expected `key = value`".to_owned()))?;
        let key = key.trim();
        let mut value = value.trim();
        if let Some(inner) = value.strip_prefix('"') {
            value = inner.strip_suffix('"').ok_or_else(|| err("unterminated quote".to_owned()))?;
        }
        if !KEYS.contains(&key) {
            return Err(err(format!("unknown key '{key}' (known: {})", KEYS.join(", "))));
        }
        if out.iter().any(|(k, _)| k == key) {
            return Err(err(format!("key '{key}' appears twice")));
        }
        out.push((key.to_owned(), value.to_owned()));
    }
    Ok(out)
}

fn flag_pairs(f: &Flags) -> Vec<(&'static str, Option<&String>)> {
    vec![
        ("listen", f.listen.as_ref()),
        ("db_host", f.db_host.as_ref()),
        ("db_port", f.db_port.as_ref()),
        ("db_socket", f.db_socket.as_ref()),
        ("db_user", f.db_user.as_ref()),
        ("db_name", f.db_name.as_ref()),
        ("db_password_file", f.db_password_file.as_ref()),
        ("token_file", f.token_file.as_ref()),
        ("reads_need_token", f.reads_need_token.as_ref()),
        ("request_timeout_ms", f.request_timeout_ms.as_ref()),
        ("db_timeout_ms", f.db_timeout_ms.as_ref()),
        ("body_limit", f.body_limit.as_ref()),
        ("page_max", f.page_max.as_ref()),
        ("pool_max", f.pool_max.as_ref()),
    ]
}

/// Read a secret file: owner-only permissions, non-empty; the trailing newline is dropped.
pub fn read_secret(key: &'static str, path: &Path) -> Result<String, ConfigError> {
    let err = |msg: String| ConfigError::Secret { key, path: path.to_owned(), msg };
    let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(err(format!(
            "is readable or writable by group or others (mode {mode:04o}); chmod 600 it"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let secret = text.trim_end_matches(['\n', '\r']).to_owned();
    if secret.is_empty() {
        return Err(err("is empty".to_owned()));
    }
    Ok(secret)
}

fn boolean(key: &'static str, v: &str) -> Result<bool, ConfigError> {
    match v.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(ConfigError::Value { key, msg: format!("'{other}' is not true or false") }),
    }
}

fn num<T>(key: &'static str, v: &str, min: T) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let n: T = v
        .trim()
        .parse()
        .map_err(|_| ConfigError::Value { key, msg: format!("'{v}' is not a number") })?;
    if n < min {
        return Err(ConfigError::Value { key, msg: format!("{n} is below the minimum {min}") });
    }
    Ok(n)
}

impl Config {
    /// Build from the flags (reading the config file they name) and load the secrets.
    pub fn load(flags: &Flags) -> Result<Config, ConfigError> {
        let mut pairs = match &flags.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|source| ConfigError::Read { path: path.clone(), source })?;
                parse_file(&text, path)?
            }
            None => Vec::new(),
        };
        for (k, v) in flag_pairs(flags) {
            if let Some(v) = v {
                pairs.retain(|(pk, _)| pk != k);
                pairs.push((k.to_owned(), v.clone()));
            }
        }
        Config::from_pairs(&pairs, read_secret)
    }

    /// Build from merged pairs; `secret` reads a secret file (injected for tests).
    pub fn from_pairs(
        pairs: &[(String, String)],
        secret: impl Fn(&'static str, &Path) -> Result<String, ConfigError>,
    ) -> Result<Config, ConfigError> {
        let get = |k: &str| {
            pairs
                .iter()
                .rev()
                .find(|(pk, _)| pk == k)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let listen = get("listen").unwrap_or("127.0.0.1:8080");
        let listen = listen.parse().map_err(|_| ConfigError::Value {
            key: "listen",
            msg: format!("'{listen}' is not an address:port"),
        })?;
        let token_file = get("token_file").ok_or(ConfigError::Value {
            key: "token_file",
            msg: "is required: writes need a bearer token".to_owned(),
        })?;
        let token = secret("token_file", Path::new(token_file))?;
        if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ConfigError::Secret {
                key: "token_file",
                path: token_file.into(),
                msg: "the token must be one line without spaces".to_owned(),
            });
        }
        let db_password = get("db_password_file")
            .map(|p| secret("db_password_file", Path::new(p)))
            .transpose()?;
        Ok(Config {
            listen,
            db_host: get("db_host").unwrap_or("127.0.0.1").to_owned(),
            db_port: num("db_port", get("db_port").unwrap_or("3306"), 1)?,
            db_socket: get("db_socket").map(PathBuf::from),
            db_user: get("db_user").unwrap_or("ferroha").to_owned(),
            db_name: get("db_name").unwrap_or("ferroha").to_owned(),
            db_password,
            token,
            reads_need_token: boolean(
                "reads_need_token",
                get("reads_need_token").unwrap_or("false"),
            )?,
            request_timeout: Duration::from_millis(num(
                "request_timeout_ms",
                get("request_timeout_ms").unwrap_or("5000"),
                10,
            )?),
            db_timeout: Duration::from_millis(num(
                "db_timeout_ms",
                get("db_timeout_ms").unwrap_or("2000"),
                10,
            )?),
            body_limit: num("body_limit", get("body_limit").unwrap_or("65536"), 64)?,
            page_max: num("page_max", get("page_max").unwrap_or("500"), 1)?,
            pool_max: num("pool_max", get("pool_max").unwrap_or("8"), 1)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<(String, String)> {
        parse_file(s, Path::new("t.conf")).unwrap()
    }

    fn fake_secret(key: &'static str, path: &Path) -> Result<String, ConfigError> {
        match path.to_str() {
            Some("/empty") => {
                Err(ConfigError::Secret { key, path: path.into(), msg: "is empty".into() })
            }
            Some("/spaced") => Ok("a b".into()),
            _ => Ok(format!("secret-of-{}", path.display())),
        }
    }

    #[test]
    fn parses_comments_quotes_and_spaces() {
        let got = p("# c\n\nlisten = 0.0.0.0:80\n  db_user=\"app\"\ndb_name =  x y \n");
        assert_eq!(
            got,
            vec![
                ("listen".into(), "0.0.0.0:80".into()),
                ("db_user".into(), "app".into()),
                ("db_name".into(), "x y".into())
            ]
        );
    }

    #[test]
    fn rejects_unknown_duplicate_and_malformed_lines() {
        let e = parse_file("x = 1", Path::new("t")).unwrap_err().to_string();
        assert!(e.starts_with("t:1: unknown key 'x'"), "{e}");
        let e = parse_file("listen=a\nlisten=b", Path::new("t")).unwrap_err().to_string();
        assert_eq!(e, "t:2: key 'listen' appears twice");
        let e = parse_file("\nlisten", Path::new("t")).unwrap_err().to_string();
        assert_eq!(e, "t:2: expected `key = value`");
        let e = parse_file("listen=\"a", Path::new("t")).unwrap_err().to_string();
        assert_eq!(e, "t:1: unterminated quote");
    }

    #[test]
    fn defaults_secrets_and_later_pairs_win() {
        let mut pairs = p("token_file = /t\ndb_port = 3307\n");
        pairs.push(("db_port".into(), "3308".into()));
        let c = Config::from_pairs(&pairs, fake_secret).unwrap();
        assert_eq!(c.db_port, 3308);
        assert_eq!(c.token, "secret-of-/t");
        assert_eq!(c.db_password, None);
        assert_eq!(c.listen, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(c.request_timeout, Duration::from_secs(5));
        assert!(!c.reads_need_token);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("secret-of"), "{dbg}");
    }

    #[test]
    fn bad_values_name_the_key() {
        let e = Config::from_pairs(&p(""), fake_secret).unwrap_err().to_string();
        assert_eq!(e, "token_file: is required: writes need a bearer token");
        let e = Config::from_pairs(&p("token_file=/t\ndb_port=x"), fake_secret).unwrap_err();
        assert_eq!(e.to_string(), "db_port: 'x' is not a number");
        let e = Config::from_pairs(&p("token_file=/t\nlisten=nope"), fake_secret).unwrap_err();
        assert_eq!(e.to_string(), "listen: 'nope' is not an address:port");
        let e = Config::from_pairs(&p("token_file=/t\nbody_limit=1"), fake_secret).unwrap_err();
        assert_eq!(e.to_string(), "body_limit: 1 is below the minimum 64");
        let e = Config::from_pairs(&p("token_file=/t\nreads_need_token=yes"), fake_secret);
        assert_eq!(e.unwrap_err().to_string(), "reads_need_token: 'yes' is not true or false");
        let c = Config::from_pairs(&p("token_file=/t\nreads_need_token = true"), fake_secret);
        assert!(c.unwrap().reads_need_token);
        let e = Config::from_pairs(&p("token_file=/spaced"), fake_secret).unwrap_err();
        assert!(e.to_string().contains("one line without spaces"));
    }

    #[test]
    fn every_key_is_documented_in_the_man_page_and_docs() {
        let man = include_str!("../man/ferroha-api.1");
        let md = include_str!("../../../docs/api.md");
        for key in KEYS {
            let flag = format!("\\fB\\-\\-{}\\fR", key.replace('_', "\\-"));
            assert!(man.contains(&flag), "man page lacks {flag}");
            assert!(md.contains(&format!("| `{key}` |")), "docs/api.md lacks {key}");
        }
    }

    /// Write `text` to `path`, mode 0600.
    fn private(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let tok = dir.path().join("tok");
        private(&tok, "t0k\n");
        let conf = dir.path().join("api.conf");
        let text = format!("token_file = {}\nreads_need_token = false\n", tok.display());
        std::fs::write(&conf, text).unwrap();
        let flags = Flags { config: Some(conf.clone()), ..Flags::default() };
        assert!(!Config::load(&flags).unwrap().reads_need_token);
        let flags =
            Flags { config: Some(conf), reads_need_token: Some("true".into()), ..Flags::default() };
        let c = Config::load(&flags).unwrap();
        assert!(c.reads_need_token);
        assert_eq!(c.token, "t0k");
    }

    #[test]
    fn secret_files_must_be_private_and_non_empty() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tok");
        std::fs::write(&f, "abc\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_secret("token_file", &f).unwrap_err().to_string();
        assert!(e.contains("mode 0644"), "{e}");
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret("token_file", &f).unwrap(), "abc");
        std::fs::write(&f, "\n").unwrap();
        assert!(read_secret("token_file", &f).unwrap_err().to_string().contains("is empty"));
        let e = read_secret("token_file", &dir.path().join("nope")).unwrap_err().to_string();
        assert!(e.contains("No such file"), "{e}");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn key() -> impl Strategy<Value = &'static str> {
            prop::sample::select(KEYS)
        }

        proptest! {
            #[test]
            fn any_file_is_read_or_names_the_line(text in any::<String>()) {
                match parse_file(&text, Path::new("t.conf")) {
                    Ok(pairs) => {
                        for (k, _) in pairs {
                            prop_assert!(KEYS.contains(&k.as_str()));
                        }
                    }
                    Err(e) => prop_assert!(matches!(e, ConfigError::Syntax { .. }), "{}", e),
                }
            }

            /// `key = "value"` lines read back, each key once, with comments and blank lines.
            #[test]
            fn written_files_read_back(
                pairs in prop::collection::btree_map(key(), "[^\n\r\"]{0,16}", 0..8),
                comment in "[^\n]{0,12}",
            ) {
                let text: String = pairs.iter().map(|(k, v)| format!("{k} = \"{v}\"\n\n# {comment}\n")).collect();
                let want: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
                prop_assert_eq!(p(&text), want);
            }

            /// Any values give a configuration or an error naming the setting; never a panic.
            #[test]
            fn any_values_give_a_config_or_name_the_key(
                pairs in prop::collection::vec(
                    (key(), prop_oneof![any::<String>(), any::<i64>().prop_map(|n| n.to_string()), Just("127.0.0.1:0".to_owned())]),
                    0..10,
                ),
            ) {
                let pairs: Vec<(String, String)> = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                match Config::from_pairs(&pairs, fake_secret) {
                    Ok(c) => prop_assert!(c.db_port > 0 && c.page_max > 0 && c.pool_max > 0),
                    Err(ConfigError::Value { key, .. } | ConfigError::Secret { key, .. }) => {
                        prop_assert!(KEYS.contains(&key));
                    }
                    Err(e) => prop_assert!(false, "unexpected {e}"),
                }
            }
        }
    }
}
