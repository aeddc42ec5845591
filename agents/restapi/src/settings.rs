//! Pure parsers, tested on inputs: the `arguments` string, the environment file, the pid file,
//! `/proc/<pid>/stat` and the health URLs. Nothing here touches the system.

use std::fmt;

/// A parse failure, with the sentence the agent reports.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// Split `arguments` into words the way a shell would for plain words and quotes, without
/// running one: whitespace separates, `'…'` is literal, `"…"` allows `\"` and `\\`, and a
/// backslash outside quotes escapes the next character. No variables, globs or substitution.
pub fn split_args(s: &str) -> Result<Vec<String>, ParseError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                        None => return err("unterminated ' quote"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => cur.push(c),
                            Some(c) => {
                                cur.push('\\');
                                cur.push(c);
                            }
                            None => return err("unterminated \" quote"),
                        },
                        Some(c) => cur.push(c),
                        None => return err("unterminated \" quote"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => cur.push(c),
                    None => return err("trailing backslash"),
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// Parse an environment file: `KEY=VALUE` lines, optional `export ` prefix, `#` comments and
/// blank lines skipped, a value wrapped in matching `'` or `"` is unquoted (nothing else is
/// interpreted). Keys must be `[A-Za-z_][A-Za-z0-9_]*`.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, ParseError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return err(format!("line {}: expected KEY=VALUE", i + 1));
        };
        let key = key.trim_end();
        let valid = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return err(format!("line {}: '{key}' is not a variable name", i + 1));
        }
        let value = value.trim();
        let value = match value.as_bytes() {
            [q @ (b'"' | b'\''), .., last] if q == last && value.len() >= 2 => {
                &value[1..value.len() - 1]
            }
            [b'"' | b'\'', ..] => return err(format!("line {}: unterminated quote", i + 1)),
            _ => value,
        };
        out.push((key.to_owned(), value.to_owned()));
    }
    Ok(out)
}

/// What the pid file says: the pid and, when this agent wrote it, the process start time
/// (clock ticks after boot, field 22 of `/proc/<pid>/stat`) and the boot id. Start time plus
/// boot id name one process for good, so a reused pid is never taken for ours.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PidRecord {
    /// The daemon's pid (also its session and process group id).
    pub pid: i32,
    /// Start time, clock ticks after boot.
    pub start: Option<u64>,
    /// `/proc/sys/kernel/random/boot_id` when written.
    pub boot: Option<String>,
}

impl fmt::Display for PidRecord {
    /// First line the bare pid (what other tools expect), then `start=… boot=…`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.pid)?;
        if let (Some(start), Some(boot)) = (self.start, &self.boot) {
            writeln!(f, "start={start} boot={boot}")?;
        }
        Ok(())
    }
}

/// Parse a pid file written by this agent or by hand (a bare pid).
pub fn parse_pidfile(text: &str) -> Result<PidRecord, ParseError> {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("").trim();
    let pid = match first.parse::<i32>() {
        Ok(p) if p > 1 => p,
        _ => return err(format!("'{first}' is not a process id")),
    };
    let mut rec = PidRecord { pid, start: None, boot: None };
    for word in lines.flat_map(str::split_whitespace) {
        match word.split_once('=') {
            Some(("start", v)) => {
                rec.start = Some(v.parse().map_err(|_| ParseError(format!("bad start '{v}'")))?)
            }
            Some(("boot", v)) => rec.boot = Some(v.to_owned()),
            _ => {}
        }
    }
    Ok(rec)
}

/// The fields of `/proc/<pid>/stat` the agent needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    /// State letter: R, S, D, T (stopped), t, Z (zombie), X, I.
    pub state: char,
    /// Start time, clock ticks after boot.
    pub start: u64,
}

/// Parse `/proc/<pid>/stat`. The command name may hold spaces and parentheses, so fields are
/// counted from the last `)`.
pub fn parse_stat(text: &str) -> Result<Stat, ParseError> {
    let rest = text.rfind(')').map(|i| &text[i + 1..]).ok_or(ParseError("no ')'".into()))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state =
        fields.first().and_then(|s| s.chars().next()).ok_or(ParseError("no state".into()))?;
    // Field 22 of the file is index 19 after the state (field 3).
    let start =
        fields.get(19).and_then(|s| s.parse().ok()).ok_or(ParseError("no start time".into()))?;
    Ok(Stat { state, start })
}

/// A checked `http://` URL (the agent carries no TLS stack; health endpoints are local).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpUrl(pub String);

/// Check a health URL: `http://host[:port]/path`, no credentials (they would show in logs and
/// in the CIB; a health endpoint should not need them).
pub fn parse_url(s: &str) -> Result<HttpUrl, ParseError> {
    let s = s.trim();
    let Some(rest) = s.strip_prefix("http://") else {
        return err(format!("'{s}' is not an http:// URL (https is not supported)"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() {
        return err(format!("'{s}' has no host"));
    }
    if authority.contains('@') {
        return err("must not carry credentials (user:password@)");
    }
    if rest.chars().any(char::is_whitespace) {
        return err(format!("'{s}' contains whitespace"));
    }
    Ok(HttpUrl(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_split_like_a_shell_without_one() {
        assert_eq!(split_args("").unwrap(), Vec::<String>::new());
        assert_eq!(split_args("  -c /etc/x.conf  --v ").unwrap(), ["-c", "/etc/x.conf", "--v"]);
        assert_eq!(
            split_args(r#"--name 'a b' "c \"d\"" e\ f"#).unwrap(),
            ["--name", "a b", "c \"d\"", "e f"]
        );
        assert_eq!(split_args("'$HOME' `x` ;").unwrap(), ["$HOME", "`x`", ";"]);
        assert_eq!(split_args("''").unwrap(), [""]);
        assert_eq!(split_args("'a").unwrap_err().0, "unterminated ' quote");
        assert_eq!(split_args("\"a").unwrap_err().0, "unterminated \" quote");
        assert_eq!(split_args("a\\").unwrap_err().0, "trailing backslash");
    }

    #[test]
    fn env_files() {
        let text = "# c\n\nA=1\nexport B = two words \nC='x=y'\nD=\"q\"\nE=\n";
        assert_eq!(
            parse_env_file(text).unwrap(),
            [
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x=y".into()),
                ("D".into(), "q".into()),
                ("E".into(), String::new())
            ]
        );
        assert_eq!(parse_env_file("A").unwrap_err().0, "line 1: expected KEY=VALUE");
        assert_eq!(parse_env_file("\n1A=2").unwrap_err().0, "line 2: '1A' is not a variable name");
        assert_eq!(parse_env_file("A='x").unwrap_err().0, "line 1: unterminated quote");
    }

    #[test]
    fn pid_files_round_trip() {
        let rec = PidRecord { pid: 4242, start: Some(123456), boot: Some("b-1".into()) };
        let text = rec.to_string();
        assert_eq!(text, "4242\nstart=123456 boot=b-1\n");
        assert_eq!(parse_pidfile(&text).unwrap(), rec);
        assert_eq!(
            parse_pidfile(" 77 \n").unwrap(),
            PidRecord { pid: 77, start: None, boot: None }
        );
        assert!(parse_pidfile("").is_err());
        assert!(parse_pidfile("abc").is_err());
        assert!(parse_pidfile("1\n").is_err(), "pid 1 is never ours");
        assert!(parse_pidfile("-5").is_err());
        assert!(parse_pidfile("5\nstart=x").is_err());
    }

    #[test]
    fn stat_lines() {
        let line = "4242 (ferroha-api) S 1 4242 4242 0 -1 4194560 300 0 0 0 1 2 0 0 20 0 2 0 \
                    987654 12345678 900 18446744073709551615 1 1 0 0 0 0 0 4096 0 0 0 0 17 1 0 0";
        assert_eq!(parse_stat(line).unwrap(), Stat { state: 'S', start: 987654 });
        let odd = "9 (a) b (c)) T 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 55 0 0";
        assert_eq!(parse_stat(odd).unwrap(), Stat { state: 'T', start: 55 });
        assert!(parse_stat("9 (x) Z 1").is_err());
        assert!(parse_stat("garbage").is_err());
    }

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("http://127.0.0.1:8080/ready").unwrap().0,
            "http://127.0.0.1:8080/ready"
        );
        assert_eq!(parse_url(" http://[::1]/h ").unwrap().0, "http://[::1]/h");
        assert!(parse_url("https://x/").unwrap_err().0.contains("https is not supported"));
        assert!(parse_url("ftp://x/").is_err());
        assert!(parse_url("http:///x").unwrap_err().0.contains("no host"));
        assert!(parse_url("http://u:p@h/").unwrap_err().0.contains("credentials"));
        assert!(parse_url("http://h/a b").is_err());
    }
}
