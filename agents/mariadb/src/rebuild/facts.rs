//! Pure rules of a rebuild, tested on fixtures: what the node to rebuild holds that the primary
//! lacks, the position a backup carries, which server files live outside the datadir, and the
//! names of the directories a rebuild makes.

use std::path::{Path, PathBuf};

use crate::gtid::{Gtid, GtidSet, Relation};

/// One domain in which this node holds transactions the primary lacks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lack {
    /// This node's last transaction in the domain.
    pub(crate) mine: Gtid,
    /// The primary's, if it has any in that domain.
    pub(crate) theirs: Option<Gtid>,
    /// How many: sequence numbers beyond the primary's (each transaction of a domain takes the
    /// next one), 1 when both committed the same number (a fork), the whole domain when the
    /// primary has none of it.
    pub(crate) count: u64,
}

/// The domains in which `mine` holds transactions `primary` lacks, per domain as the agent
/// compares positions ([`GtidSet::relation`]).
pub(crate) fn lacking(mine: &GtidSet, primary: &GtidSet) -> Vec<Lack> {
    mine.iter()
        .filter_map(|m| {
            let theirs = primary.get(m.domain).copied();
            let count = match theirs {
                None => m.seq,
                Some(t) if m.seq > t.seq => m.seq - t.seq,
                Some(t) if m.seq == t.seq && m.server != t.server => 1,
                Some(_) => 0,
            };
            (count > 0).then_some(Lack { mine: *m, theirs, count })
        })
        .collect()
}

/// "this node holds N transactions the primary lacks (…)", if it holds any.
pub(crate) fn lack_summary(mine: &GtidSet, primary: &GtidSet, who: &str) -> Option<String> {
    let lacks = lacking(mine, primary);
    if lacks.is_empty() {
        return None;
    }
    let n: u64 = lacks.iter().map(|l| l.count).sum();
    let per: Vec<String> = lacks
        .iter()
        .map(|l| match l.theirs {
            Some(t) => format!("domain {}: {} here, {t} on {who}", l.mine.domain, l.mine),
            None => format!("domain {}: {} here, nothing on {who}", l.mine.domain, l.mine),
        })
        .collect();
    let s = if n == 1 { "" } else { "s" };
    Some(format!("this node holds {n} transaction{s} the primary {who} lacks ({})", per.join("; ")))
}

/// Why a rebuild must not go ahead without `--force`, if it must not: this node holds
/// transactions `primary` (named `who`) lacks.
pub(crate) fn refusal(mine: &GtidSet, primary: &GtidSet, who: &str) -> Option<String> {
    let summary = lack_summary(mine, primary, who)?;
    let why = match mine.relation(primary) {
        Relation::Ahead => format!(
            "{who} is behind this node: make this node the primary instead, or find out where \
             {who}'s transactions went"
        ),
        _ => format!(
            "this node's history forked from {who}'s: those transactions exist only here, and a \
             rebuild keeps them only in the datadir it moves aside"
        ),
    };
    Some(format!("{summary} — do not rebuild it: {why} (--force rebuilds anyway)"))
}

/// The GTID position in a prepared backup's `mariadb_backup_binlog_info` (older releases:
/// `xtrabackup_binlog_info`): `file<TAB>offset<TAB>gtid-position`.
pub(crate) fn backup_position(text: &str) -> Result<GtidSet, String> {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut fields = line.split('\t');
    let (Some(_file), Some(_offset), Some(gtid)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(format!("'{}' is not file, offset and GTID position", line.trim()));
    };
    let pos = GtidSet::parse(gtid.trim()).map_err(|e| e.to_string())?;
    if pos == GtidSet::default() {
        return Err("the backup's GTID position is empty".into());
    }
    Ok(pos)
}

/// Server options naming files that belong with the data (binary and relay logs, replication
/// state, InnoDB and Aria files). A rebuild moves the datadir aside whole; any of these outside
/// it would stay behind, and the rebuilt server would reuse the old node's files.
pub(crate) const DATA_FILE_OPTIONS: &[&str] = &[
    "log-bin",
    "log-bin-index",
    "relay-log",
    "relay-log-index",
    "relay-log-info-file",
    "master-info-file",
    "innodb-data-home-dir",
    "innodb-log-group-home-dir",
    "innodb-undo-directory",
    "aria-log-dir-path",
];

/// The values `mariadbd … --verbose --help` prints for `names` (a `name  value` table), `None`
/// for "(No default value)" and for names it does not print.
pub(crate) fn help_values<'a>(help: &str, names: &[&'a str]) -> Vec<(&'a str, Option<String>)> {
    names
        .iter()
        .map(|name| {
            let value = help.lines().find_map(|l| {
                let (key, rest) = l.split_once(char::is_whitespace)?;
                (key == *name).then(|| rest.trim().to_owned())
            });
            let value = value.filter(|v| !v.is_empty() && v != "(No default value)");
            (*name, value)
        })
        .collect()
}

/// `value` (of option `name`) is an absolute path outside `datadir`: the sentence saying so.
/// Relative values are relative to the datadir.
pub(crate) fn outside(datadir: &Path, name: &str, value: &str) -> Option<String> {
    let p = Path::new(value);
    if !p.is_absolute() {
        return None;
    }
    let norm = |p: &Path| -> PathBuf { p.components().collect() };
    let (p, d) = (norm(p), norm(datadir));
    let canon = std::fs::canonicalize(datadir).unwrap_or_else(|_| d.clone());
    if p.starts_with(&d) || p.starts_with(&canon) {
        return None;
    }
    Some(format!("{name}={value}"))
}

/// `<datadir>.<what>-<UTC timestamp>`, next to the datadir (so a rename keeps it on the same
/// file system).
pub(crate) fn sibling(datadir: &Path, what: &str, stamp: &str) -> PathBuf {
    let name = datadir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    datadir.with_file_name(format!("{name}.{what}-{stamp}"))
}

/// `2026-11-22T162134Z` from an RFC 3339 time: a timestamp that sorts and needs no quoting.
pub(crate) fn stamp(rfc3339: &str) -> String {
    let t: String = rfc3339.chars().take(19).filter(|c| *c != ':').collect();
    format!("{t}Z")
}

/// A value for a MariaDB option file, double-quoted with `\` and `"` escaped, or `None` when
/// it cannot be written on one line.
pub(crate) fn option_value(v: &str) -> Option<String> {
    if v.contains(['\n', '\r', '\0']) {
        return None;
    }
    Some(format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> GtidSet {
        GtidSet::parse(t).unwrap()
    }

    #[test]
    fn nothing_lacks_when_behind_or_equal() {
        assert!(lacking(&s("0-1-5"), &s("0-1-5")).is_empty());
        assert!(lacking(&s("0-1-5"), &s("0-2-9")).is_empty());
        assert!(lacking(&s(""), &s("0-1-5")).is_empty());
        assert_eq!(refusal(&s("0-1-4,1-2-3"), &s("0-1-5,1-2-3"), "n1"), None);
    }

    #[test]
    fn counts_per_domain() {
        let l = lacking(&s("0-2-8,1-3-4,2-3-2"), &s("0-1-5,1-1-4"));
        assert_eq!(l.iter().map(|l| l.count).collect::<Vec<_>>(), [3, 1, 2]);
        assert_eq!(l[2].theirs, None);
    }

    #[test]
    fn an_errant_write_makes_the_replica_ahead() {
        let r = refusal(&s("0-2-6"), &s("0-1-5"), "n1").unwrap();
        assert_eq!(
            r,
            "this node holds 1 transaction the primary n1 lacks (domain 0: 0-2-6 here, 0-1-5 on \
             n1) — do not rebuild it: n1 is behind this node: make this node the primary \
             instead, or find out where n1's transactions went (--force rebuilds anyway)"
        );
    }

    #[test]
    fn a_fork_says_so() {
        let r = refusal(&s("0-1-6"), &s("0-2-6"), "n2").unwrap();
        assert!(r.starts_with("this node holds 1 transaction the primary n2 lacks"), "{r}");
        assert!(r.contains("forked from n2's"), "{r}");
        let r = refusal(&s("0-1-9,1-1-1"), &s("0-2-20"), "n2").unwrap();
        assert!(r.contains("holds 1 transaction"), "{r}");
        assert!(r.contains("domain 1: 1-1-1 here, nothing on n2"), "{r}");
    }

    #[test]
    fn backup_positions() {
        assert_eq!(backup_position("fh-bin.000002\t1234\t0-1-20\n").unwrap(), s("0-1-20"));
        assert_eq!(backup_position("b.000001\t99\t0-1-20,1-2-3\n").unwrap(), s("0-1-20,1-2-3"));
        assert!(backup_position("b.000001\t99\n").is_err(), "no GTID");
        assert!(backup_position("b.000001\t99\t\n").unwrap_err().contains("empty"));
        assert!(backup_position("").is_err());
    }

    #[test]
    fn help_table() {
        let help = "datadir                              /var/lib/mysql/\n\
                    log-bin                              fh-bin\n\
                    log-bin-index                        (No default value)\n\
                    relay-log                            /srv/relay/r\n";
        assert_eq!(
            help_values(help, &["log-bin", "log-bin-index", "relay-log", "absent"]),
            [
                ("log-bin", Some("fh-bin".to_owned())),
                ("log-bin-index", None),
                ("relay-log", Some("/srv/relay/r".to_owned())),
                ("absent", None)
            ]
        );
    }

    #[test]
    fn files_outside_the_datadir() {
        let d = Path::new("/nonexistent/var/lib/mysql");
        assert_eq!(outside(d, "log-bin", "fh-bin"), None);
        assert_eq!(outside(d, "log-bin", "/nonexistent/var/lib/mysql/binlogs/b"), None);
        assert_eq!(outside(d, "log-bin", "/nonexistent/var/lib/mysql/./b"), None);
        assert_eq!(
            outside(d, "log-bin", "/var/log/mysql/mariadb-bin").as_deref(),
            Some("log-bin=/var/log/mysql/mariadb-bin")
        );
        assert!(outside(d, "relay-log", "/nonexistent/var/lib/mysql2/r").is_some());
    }

    #[test]
    fn names() {
        assert_eq!(stamp("2026-11-22T16:21:34.052Z"), "2026-11-22T162134Z");
        assert_eq!(
            sibling(Path::new("/var/lib/mysql"), "old", "2026-11-22T162134Z"),
            Path::new("/var/lib/mysql.old-2026-11-22T162134Z")
        );
        assert_eq!(option_value(r#"a'b\c"d"#).as_deref(), Some(r#""a'b\\c\"d""#));
        assert_eq!(option_value("a\nb"), None);
    }
}
