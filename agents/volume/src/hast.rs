//! FreeBSD HAST state: pure parsers over `hastctl list` (the long, `key: value` form) and
//! `hastctl status` (the table of FreeBSD ≥ 10), and the promotion policy.
//!
//! No FreeBSD host exists here: the fixtures are built from the format strings of FreeBSD's
//! `sbin/hastctl/hastctl.c`, not captured from a real `hastd`.

/// A HAST role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Not serving (the resource is "down" for this agent).
    Init,
    /// Primary: `/dev/hast/<name>` exists.
    Primary,
    /// Secondary: receiving from the primary.
    Secondary,
    /// Anything else (`unknown`, `watchdog`).
    Unknown,
}

impl Role {
    fn parse(s: &str) -> Role {
        match s {
            "init" => Role::Init,
            "primary" => Role::Primary,
            "secondary" => Role::Secondary,
            _ => Role::Unknown,
        }
    }
}

/// One resource from `hastctl list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HastResource {
    /// Resource name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// `complete` or `degraded`; absent without a worker.
    pub status: Option<String>,
    /// Bytes still to synchronise (the number before the humanized size).
    pub dirty: Option<u64>,
    /// The worker's process id (newer hastctl), when not 0.
    pub workerpid: Option<u32>,
    /// The peer.
    pub remoteaddr: Option<String>,
}

/// Parse `hastctl list [name]`: a `name:` line per resource, then two-space-indented
/// `key: value` lines; deeper lines (statistics) are skipped.
pub fn parse_list(text: &str) -> Vec<HastResource> {
    let mut out: Vec<HastResource> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') && !line.starts_with('\t') {
            if let Some(name) = line.trim_end().strip_suffix(':') {
                out.push(HastResource {
                    name: name.to_owned(),
                    role: Role::Unknown,
                    status: None,
                    dirty: None,
                    workerpid: None,
                    remoteaddr: None,
                });
            }
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let Some(cur) = out.last_mut() else { continue };
        if indent != 2 {
            continue;
        }
        let Some((key, value)) = line.trim().split_once(':') else { continue };
        let value = value.trim();
        match key {
            "role" => cur.role = Role::parse(value),
            "status" => cur.status = Some(value.to_owned()),
            "dirty" => cur.dirty = value.split_whitespace().next().and_then(|n| n.parse().ok()),
            "workerpid" => cur.workerpid = value.parse().ok().filter(|p| *p != 0),
            "remoteaddr" => cur.remoteaddr = Some(value.to_owned()),
            _ => {}
        }
    }
    out
}

/// One row of the `hastctl status` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusRow {
    /// Resource name.
    pub name: String,
    /// `complete`, `degraded`, or `None` for `-`.
    pub status: Option<String>,
    /// Role; `None` on an `ERR<errno>` row.
    pub role: Option<Role>,
    /// `Some(errno)` when hastd could not report the resource.
    pub error: Option<i32>,
}

/// Parse the `hastctl status` table (header `Name Status Role Components`).
pub fn parse_status(text: &str) -> Vec<StatusRow> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Name"))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let name = f.next()?.to_owned();
            let second = f.next()?;
            if let Some(errno) = second.strip_prefix("ERR") {
                return Some(StatusRow {
                    name,
                    status: None,
                    role: None,
                    error: Some(errno.parse().unwrap_or(0)),
                });
            }
            let status = (second != "-").then(|| second.to_owned());
            let role = f.next().map(Role::parse);
            Some(StatusRow { name, status, role, error: None })
        })
        .collect()
}

/// The promotion score for a HAST resource; `None` means remove it.
pub fn score(r: Option<&HastResource>) -> Option<i64> {
    let r = r?;
    match r.role {
        Role::Primary => Some(crate::drbd::SCORE_UPTODATE),
        Role::Secondary if r.dirty == Some(0) => Some(crate::drbd::SCORE_UPTODATE_PEER_UNKNOWN),
        _ => None,
    }
}

/// Whether the resource may become primary: refuse while `dirty` is non-zero unless forced.
pub fn promote_gate(r: &HastResource, force: bool) -> Result<(), String> {
    match r.dirty {
        Some(0) => Ok(()),
        _ if force => {
            log::warn!(
                "HAST resource {} has dirty data ({:?} bytes); promoting because force_promote \
                 is set",
                r.name,
                r.dirty
            );
            Ok(())
        }
        Some(n) => Err(format!(
            "HAST resource {} has {n} dirty bytes not yet synchronised; refusing to promote \
             (set force_promote=true to override)",
            r.name
        )),
        None => Err(format!(
            "HAST resource {} reports no dirty count; refusing to promote (set \
             force_promote=true to override)",
            r.name
        )),
    }
}

/// The `pgrep -f` pattern of a resource's secondary worker, as hastd titles it.
pub fn secondary_worker_pattern(name: &str) -> String {
    format!("^hastd: {name} \\(secondary\\)")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIMARY: &str = include_str!("../tests/fixtures/hastctl_list_primary.txt");
    const TWO: &str = include_str!("../tests/fixtures/hastctl_list_two.txt");
    const STATUS: &str = include_str!("../tests/fixtures/hastctl_status.txt");

    #[test]
    fn list_primary() {
        let r = parse_list(PRIMARY);
        assert_eq!(r.len(), 1);
        let r = &r[0];
        assert_eq!(r.name, "shared");
        assert_eq!(r.role, Role::Primary);
        assert_eq!(r.status.as_deref(), Some("complete"));
        assert_eq!(r.dirty, Some(0));
        assert_eq!(r.workerpid, Some(1234));
        assert_eq!(r.remoteaddr.as_deref(), Some("tcp4://10.0.0.2"));
        assert_eq!(score(Some(r)), Some(10000));
    }

    #[test]
    fn list_two_resources_statistics_ignored() {
        let r = parse_list(TWO);
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].name.as_str(), r[0].role), ("data", Role::Secondary));
        assert_eq!(r[0].dirty, Some(6_291_456));
        assert_eq!(r[0].status.as_deref(), Some("degraded"));
        assert_eq!(
            (r[1].name.as_str(), r[1].role, r[1].status.as_deref()),
            ("logs", Role::Init, None)
        );
        assert_eq!(r[1].workerpid, None);
        assert_eq!(score(Some(&r[0])), None, "dirty secondary gets no score");
        assert_eq!(score(Some(&r[1])), None);
        assert_eq!(score(None), None);
    }

    #[test]
    fn dirty_refuses_unless_forced() {
        let r = &parse_list(TWO)[0];
        let e = promote_gate(r, false).unwrap_err();
        assert!(e.contains("6291456 dirty bytes"), "{e}");
        assert!(promote_gate(r, true).is_ok());
        assert!(promote_gate(&parse_list(PRIMARY)[0], false).is_ok());
    }

    #[test]
    fn status_table() {
        let rows = parse_status(STATUS);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].name, "shared");
        assert_eq!(rows[0].status.as_deref(), Some("complete"));
        assert_eq!(rows[0].role, Some(Role::Primary));
        assert_eq!((rows[1].status.as_deref(), rows[1].role), (None, Some(Role::Init)));
        assert_eq!(rows[2].error, Some(61));
    }

    #[test]
    fn garbage_is_empty() {
        assert!(parse_list("").is_empty());
        assert!(parse_list("  role: primary\n").is_empty(), "no resource header");
        assert!(parse_status("Name\tStatus\t Role\t\tComponents\n").is_empty());
    }

    #[test]
    fn worker_pattern() {
        assert_eq!(secondary_worker_pattern("shared"), "^hastd: shared \\(secondary\\)");
    }
}
