//! Logging the way `ocf_log` does it, so operators find agent messages where they look for the
//! shell agents' ones: syslog when `HA_LOGFACILITY` is set, `HA_LOGFILE` appended to, debug lines
//! only with `HA_debug` (also to `HA_DEBUGLOG`), and stderr when no destination is configured
//! (pacemaker-execd records an agent's stderr).

use std::fs::OpenOptions;
use std::io::{IsTerminal, Write};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::time::SystemTime;

use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::env::OcfEnv;

/// Where log lines go; built from the environment once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logger {
    tag: String,
    facility: Option<u8>,
    logfile: Option<PathBuf>,
    debuglog: Option<PathBuf>,
    debug: bool,
    stderr: bool,
}

fn facility_code(name: &str) -> Option<u8> {
    let n = name.trim().to_ascii_lowercase();
    Some(match n.as_str() {
        "kern" => 0,
        "user" => 1,
        "mail" => 2,
        "daemon" => 3,
        "auth" => 4,
        "syslog" => 5,
        "lpr" => 6,
        "news" => 7,
        "uucp" => 8,
        "cron" => 9,
        "authpriv" => 10,
        "ftp" => 11,
        _ => {
            let local: u8 = n.strip_prefix("local")?.parse().ok()?;
            if local > 7 {
                return None;
            }
            16 + local
        }
    })
}

fn severity(level: Level) -> u8 {
    match level {
        Level::Error => 3,
        Level::Warn => 4,
        Level::Info => 6,
        Level::Debug | Level::Trace => 7,
    }
}

fn prefix(level: Level) -> &'static str {
    match level {
        Level::Error => "ERROR",
        Level::Warn => "WARNING",
        Level::Info => "INFO",
        Level::Debug | Level::Trace => "DEBUG",
    }
}

impl Logger {
    /// Configure from `HA_*` variables; `tty` tells whether stderr is a terminal (then the shell
    /// agents log only there).
    pub fn from_env(env: &OcfEnv, agent: &str, instance: &str, pid: u32, tty: bool) -> Logger {
        let path = |k: &str| env.var(k).filter(|v| !v.is_empty()).map(PathBuf::from);
        let facility = env.var("HA_LOGFACILITY").and_then(facility_code);
        let logfile = path("HA_LOGFILE");
        let tag = env
            .var("HA_LOGTAG")
            .filter(|t| !t.is_empty())
            .map_or_else(|| format!("{agent}({instance})[{pid}]"), str::to_owned);
        let debug = env.var("HA_debug").is_some_and(|v| !v.is_empty() && v != "0");
        if tty {
            return Logger {
                tag,
                facility: None,
                logfile: None,
                debuglog: None,
                debug,
                stderr: true,
            };
        }
        let stderr = facility.is_none() && logfile.is_none();
        Logger { tag, facility, logfile, debuglog: path("HA_DEBUGLOG"), debug, stderr }
    }

    /// The tag used in syslog and file lines.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Install as the `log` crate's logger (once per process; later calls are ignored).
    pub fn install(self) {
        let max = if self.debug { LevelFilter::Debug } else { LevelFilter::Info };
        if log::set_logger(Box::leak(Box::new(self))).is_ok() {
            log::set_max_level(max);
        }
    }

    /// The line written to files and stderr.
    pub fn format_line(&self, level: Level, msg: &str) -> String {
        format!("{}: {}: {}", self.tag, prefix(level), msg)
    }

    fn syslog(&self, facility: u8, level: Level, msg: &str) -> bool {
        let pri = u16::from(facility) * 8 + u16::from(severity(level));
        let line = format!("<{pri}>{}: {}: {}", self.tag, prefix(level), msg);
        UnixDatagram::unbound().and_then(|s| s.send_to(line.as_bytes(), "/dev/log")).is_ok()
    }

    /// Append a line to a log file, stamped like `hadate` stamps the shell agents' lines (UTC,
    /// milliseconds, so it sorts against Pacemaker's own log).
    fn append(path: &PathBuf, line: &str) {
        if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
            let _ = writeln!(f, "{} {line}", timestamp(SystemTime::now()));
        }
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= Level::Info || self.debug
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = record.level();
        let msg = record.args().to_string();
        let line = self.format_line(level, &msg);
        let is_debug = level >= Level::Debug;
        let mut delivered = false;
        if let Some(f) = self.facility {
            delivered = self.syslog(f, level, &msg);
        }
        if let Some(p) = &self.logfile {
            Self::append(p, &line);
            delivered = true;
        }
        if let Some(p) = self.debuglog.as_ref().filter(|_| is_debug) {
            Self::append(p, &line);
            delivered = true;
        }
        // Without a working destination, stderr: pacemaker-execd keeps it in its log.
        if self.stderr || !delivered {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
    }

    fn flush(&self) {}
}

/// `2026-11-22T16:21:34.052Z` for `t`.
pub fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Whether stderr is a terminal.
pub fn stderr_is_tty() -> bool {
    std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        let at = |s: u64, ms: u64| timestamp(UNIX_EPOCH + Duration::from_millis(s * 1000 + ms));
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        // 2000-02-29 (a leap day of a century leap year) 12:34:56.789
        assert_eq!(at(951_827_696, 789), "2000-02-29T12:34:56.789Z");
        assert_eq!(at(1_795_357_368, 38), "2026-11-22T14:22:48.038Z");
        assert_eq!(at(4_107_542_400, 0), "2100-03-01T00:00:00.000Z");
    }

    fn logger(pairs: &[(&str, &str)]) -> Logger {
        Logger::from_env(&OcfEnv::from_pairs(pairs), "vip", "ip1", 42, false)
    }

    #[test]
    fn defaults_to_stderr_with_shell_tag() {
        let l = logger(&[]);
        assert!(l.stderr && !l.debug && l.facility.is_none());
        assert_eq!(l.tag(), "vip(ip1)[42]");
        assert_eq!(l.format_line(Level::Warn, "x"), "vip(ip1)[42]: WARNING: x");
    }

    #[test]
    fn facility_and_file_replace_stderr() {
        let l = logger(&[("HA_LOGFACILITY", "local5"), ("HA_LOGFILE", "/tmp/x.log")]);
        assert_eq!(l.facility, Some(21));
        assert!(!l.stderr);
        assert_eq!(logger(&[("HA_LOGFACILITY", "none")]).facility, None);
        assert_eq!(logger(&[("HA_LOGFACILITY", "daemon")]).facility, Some(3));
    }

    #[test]
    fn debug_only_when_ha_debug_is_not_zero() {
        assert!(logger(&[("HA_debug", "1")]).debug);
        assert!(!logger(&[("HA_debug", "0")]).debug);
        assert!(!logger(&[("HA_debug", "")]).debug);
    }

    #[test]
    fn a_tty_gets_stderr_only() {
        let env = OcfEnv::from_pairs(&[("HA_LOGFILE", "/tmp/x.log")]);
        let l = Logger::from_env(&env, "vip", "ip1", 1, true);
        assert!(l.stderr && l.logfile.is_none());
    }

    #[test]
    fn writes_file_and_debuglog() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ha.log");
        let dbg = dir.path().join("debug.log");
        let l = Logger::from_env(
            &OcfEnv::from_pairs(&[
                ("HA_LOGFILE", file.to_str().unwrap()),
                ("HA_DEBUGLOG", dbg.to_str().unwrap()),
                ("HA_debug", "1"),
            ]),
            "vip",
            "ip1",
            7,
            false,
        );
        l.log(&Record::builder().level(Level::Info).args(format_args!("hello")).build());
        l.log(&Record::builder().level(Level::Debug).args(format_args!("detail")).build());
        // Each line: a 24-character stamp, a space, the line.
        let unstamped = |p: &std::path::Path| -> Vec<String> {
            let text = std::fs::read_to_string(p).unwrap();
            text.lines()
                .map(|l| {
                    let (stamp, rest) = l.split_at(25);
                    assert!(stamp.ends_with("Z ") && stamp.starts_with("20"), "{l}");
                    rest.to_owned()
                })
                .collect()
        };
        assert_eq!(unstamped(&file), ["vip(ip1)[7]: INFO: hello", "vip(ip1)[7]: DEBUG: detail"]);
        assert_eq!(unstamped(&dbg), ["vip(ip1)[7]: DEBUG: detail"]);
    }
}
