//! Pure parsing of the parameters that are more than a string: the node → address map and the
//! rules for secret files.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Where a node's server answers for replication and peer checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Addr {
    /// Host name or IP address (IPv6 without brackets).
    pub(crate) host: String,
    /// TCP port.
    pub(crate) port: u16,
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// Why the node map does not parse; each names the entry or text at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum NodeMapError {
    /// No `=`.
    #[error("entry '{0}' is not node=host[:port]")]
    NotAnEntry(String),
    /// `=host` without a node.
    #[error("entry '{0}' has no node name")]
    NoNode(String),
    /// A node listed twice.
    #[error("node '{0}' appears twice")]
    Twice(String),
    /// `[v6` without `]`.
    #[error("'{0}' lacks the closing ']'")]
    Unclosed(String),
    /// `[v6]x`.
    #[error("'{0}' has text after ']' that is not :port")]
    AfterBracket(String),
    /// Empty host or one with blanks or quotes.
    #[error("'{0}' has no usable host")]
    NoHost(String),
    /// Not a port number in 1..65535.
    #[error("'{port}' in '{text}' is not a TCP port")]
    Port {
        /// The port text.
        port: String,
        /// The whole address.
        text: String,
    },
}

fn parse_addr(text: &str, default_port: u16) -> Result<Addr, NodeMapError> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) =
            rest.split_once(']').ok_or_else(|| NodeMapError::Unclosed(text.to_owned()))?;
        match after.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if after.is_empty() => (host, None),
            None => return Err(NodeMapError::AfterBracket(text.to_owned())),
        }
    } else if text.matches(':').count() > 1 {
        (text, None)
    } else {
        match text.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '\'' || c == '\\') {
        return Err(NodeMapError::NoHost(text.to_owned()));
    }
    let port = match port {
        None => default_port,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 => n,
            _ => return Err(NodeMapError::Port { port: p.to_owned(), text: text.to_owned() }),
        },
    };
    Ok(Addr { host: host.to_owned(), port })
}

/// Parse `node=host[:port]` entries separated by spaces, commas or semicolons. Node names need
/// not resolve: they are the names Pacemaker uses (`CRM_meta_on_node`).
pub(crate) fn parse_node_map(
    text: &str,
    default_port: u16,
) -> Result<BTreeMap<String, Addr>, NodeMapError> {
    let mut map = BTreeMap::new();
    for entry in text.split([' ', ',', ';', '\n', '\t']).filter(|e| !e.is_empty()) {
        let (node, addr) =
            entry.split_once('=').ok_or_else(|| NodeMapError::NotAnEntry(entry.to_owned()))?;
        if node.is_empty() {
            return Err(NodeMapError::NoNode(entry.to_owned()));
        }
        let addr = parse_addr(addr, default_port)?;
        if map.insert(node.to_owned(), addr).is_some() {
            return Err(NodeMapError::Twice(node.to_owned()));
        }
    }
    Ok(map)
}

/// Why a secret file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SecretError {
    /// Missing or unreadable.
    #[error("cannot be read ({0})")]
    Unreadable(String),
    /// Group or other may read or write it.
    #[error("has mode {0:04o}; group and others must have no access (chmod 600)")]
    TooOpen(u32),
    /// Empty.
    #[error("is empty")]
    Empty,
}

/// The mode rule alone: no bit for group or others.
pub(crate) fn mode_is_private(mode: u32) -> bool {
    mode & 0o077 == 0
}

/// The secret from its first line (a trailing newline is not part of it).
pub(crate) fn secret_from_text(text: &str) -> Result<String, SecretError> {
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() { Err(SecretError::Empty) } else { Ok(line.to_owned()) }
}

/// Read a password file, refusing one that group or others can access.
pub(crate) fn read_secret(path: &Path) -> Result<String, SecretError> {
    let meta = fs::metadata(path).map_err(|e| SecretError::Unreadable(e.to_string()))?;
    let mode = meta.permissions().mode() & 0o7777;
    if !mode_is_private(mode) {
        return Err(SecretError::TooOpen(mode));
    }
    let text = fs::read_to_string(path).map_err(|e| SecretError::Unreadable(e.to_string()))?;
    secret_from_text(&text)
}

/// Quote a value as an SQL string literal for a session whose `sql_mode` we set ourselves
/// (without `NO_BACKSLASH_ESCAPES`): backslash and quote are escaped, NUL is refused.
pub(crate) fn sql_literal(value: &str) -> Option<String> {
    if value.contains('\0') {
        return None;
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('\'');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(h: &str, p: u16) -> Addr {
        Addr { host: h.into(), port: p }
    }

    #[test]
    fn node_map_forms() {
        let m = parse_node_map("n1=127.0.0.1:3307 n2=db2, n3=[::1]:3309;n4=fd00::4", 3306).unwrap();
        assert_eq!(m["n1"], a("127.0.0.1", 3307));
        assert_eq!(m["n2"], a("db2", 3306));
        assert_eq!(m["n3"], a("::1", 3309));
        assert_eq!(m["n4"], a("fd00::4", 3306));
        assert_eq!(m["n3"].to_string(), "[::1]:3309");
        assert!(parse_node_map("", 3306).unwrap().is_empty());
    }

    #[test]
    fn node_map_errors_name_the_entry() {
        let cases = [
            ("n1", "entry 'n1' is not node=host[:port]"),
            ("=h", "entry '=h' has no node name"),
            ("n1=h:x", "'x' in 'h:x' is not a TCP port"),
            ("n1=h:0", "'0' in 'h:0' is not a TCP port"),
            ("n1=a n1=b", "node 'n1' appears twice"),
        ];
        for (text, want) in cases {
            assert_eq!(parse_node_map(text, 3306).unwrap_err().to_string(), want);
        }
        assert!(parse_node_map("n1=[::1", 3306).is_err());
        assert!(parse_node_map("n1=h'x", 3306).is_err());
    }

    #[test]
    fn secret_rules() {
        assert!(mode_is_private(0o600));
        assert!(mode_is_private(0o400));
        assert!(!mode_is_private(0o640));
        assert!(!mode_is_private(0o604));
        assert_eq!(secret_from_text("s3cret\n").unwrap(), "s3cret");
        assert_eq!(secret_from_text("s3cret\r\nignored").unwrap(), "s3cret");
        assert_eq!(secret_from_text("\n"), Err(SecretError::Empty));
    }

    #[test]
    fn secret_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        fs::write(&p, "pw1\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(read_secret(&p), Err(SecretError::TooOpen(0o644)));
        assert_eq!(
            SecretError::TooOpen(0o644).to_string(),
            "has mode 0644; group and others must have no access (chmod 600)"
        );
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret(&p).unwrap(), "pw1");
        assert!(matches!(read_secret(&dir.path().join("no")), Err(SecretError::Unreadable(_))));
    }

    #[test]
    fn sql_literals() {
        assert_eq!(sql_literal("abc").unwrap(), "'abc'");
        assert_eq!(sql_literal("a'b\\c").unwrap(), "'a\\'b\\\\c'");
        assert_eq!(sql_literal("x\ny").unwrap(), "'x\\ny'");
        assert_eq!(sql_literal("a\0b"), None);
    }
}
