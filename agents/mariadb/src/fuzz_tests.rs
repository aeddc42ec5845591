//! Property tests of the parsers that read text from outside the agent: GTID positions (from the
//! servers), `SHOW SLAVE STATUS` rows, the node map and secret files (from the operator), the
//! state file and `/proc/<pid>/cmdline`. Arbitrary input never panics, and the laws the agent
//! relies on hold: a position prints and parses back to itself, "ahead" is a strict partial
//! order whose two directions mirror each other, and union takes the further entry per domain.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::db::SlaveStatus;
use crate::gtid::{GtidSet, Relation, ahead_count};
use crate::server::cmdline_is_ours;
use crate::settings::{Addr, parse_node_map, secret_from_text, sql_literal};
use crate::state::{ServerRole, State};

/// Text made of what positions are made of, so that some of it parses.
fn position_like() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[0-9, -]{0,24}", "([0-9]{1,3}-[0-9]{1,3}-[0-9]{1,21},?){0,4}"]
}

/// A valid position: few domains, servers and sequence numbers, so that equal, ahead and forked
/// positions all come up.
fn position() -> impl Strategy<Value = GtidSet> {
    prop::collection::btree_map(0u32..4, (0u32..3, 0u64..6), 0..4).prop_map(|m| {
        let text: Vec<String> = m.iter().map(|(d, (s, n))| format!("{d}-{s}-{n}")).collect();
        GtidSet::parse(&text.join(",")).expect("a valid position")
    })
}

fn mirror(r: Relation) -> Relation {
    match r {
        Relation::Ahead => Relation::Behind,
        Relation::Behind => Relation::Ahead,
        r => r,
    }
}

/// Whether some domain has the same sequence number from two servers in `a` and `b`: the
/// positions forked there.
fn tie_from_two_servers(a: &GtidSet, b: &GtidSet) -> bool {
    let entries = |s: &GtidSet| -> BTreeMap<u32, (u32, u64)> {
        s.to_string()
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let v: Vec<u64> = p.split('-').map(|x| x.parse().unwrap()).collect();
                (v[0] as u32, (v[1] as u32, v[2]))
            })
            .collect()
    };
    let (a, b) = (entries(a), entries(b));
    a.iter().any(|(d, (s, n))| b.get(d).is_some_and(|(s2, n2)| n == n2 && s != s2))
}

/// MySQL's reading of a single-quoted string literal (backslash escapes on, as the agent sets
/// `sql_mode`); `None` when it is not one whole literal.
fn mysql_unquote(lit: &str) -> Option<String> {
    let inner = lit.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                '0' => out.push('\0'),
                'b' => out.push('\u{8}'),
                'Z' => out.push('\u{1a}'),
                '%' => out.push_str("\\%"),
                '_' => out.push_str("\\_"),
                other => out.push(other),
            },
            // An unescaped quote would end the literal early ('' is an escape, never produced).
            '\'' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

proptest! {
    #[test]
    fn any_position_text_parses_or_is_refused(text in position_like()) {
        if let Ok(set) = GtidSet::parse(&text) {
            // What parses prints as the canonical form, which parses to the same position.
            prop_assert_eq!(GtidSet::parse(&set.to_string()), Ok(set));
        }
    }

    #[test]
    fn a_position_prints_and_parses_back(a in position()) {
        prop_assert_eq!(GtidSet::parse(&a.to_string()), Ok(a));
    }

    #[test]
    fn relations_mirror_each_other(a in position(), b in position()) {
        prop_assert_eq!(b.relation(&a), mirror(a.relation(&b)));
        prop_assert_eq!(a.relation(&b) == Relation::Equal, a == b);
    }

    /// "Ahead" is a strict partial order: irreflexive, asymmetric, transitive.
    #[test]
    fn ahead_is_a_strict_partial_order(a in position(), b in position(), c in position()) {
        prop_assert_ne!(a.relation(&a), Relation::Ahead);
        if a.relation(&b) == Relation::Ahead {
            prop_assert_ne!(b.relation(&a), Relation::Ahead);
            if b.relation(&c) == Relation::Ahead {
                prop_assert_eq!(a.relation(&c), Relation::Ahead);
            }
        }
    }

    /// Union is idempotent and associative, and commutative unless the two positions forked
    /// in a domain (same sequence number from two servers: it keeps the left one). Nothing is
    /// ahead of a union of the two it was made from.
    #[test]
    fn union_takes_the_further_entry_per_domain(a in position(), b in position(), c in position()) {
        prop_assert_eq!(a.union(&a), a.clone());
        prop_assert_eq!(a.union(&b).union(&c), a.union(&b.union(&c)));
        if !tie_from_two_servers(&a, &b) {
            prop_assert_eq!(a.union(&b), b.union(&a));
            let u = a.union(&b);
            prop_assert!(matches!(u.relation(&a), Relation::Equal | Relation::Ahead));
            prop_assert!(matches!(u.relation(&b), Relation::Equal | Relation::Ahead));
        }
    }

    #[test]
    fn the_rank_counts_the_peers_ahead(mine in position(), peers in prop::collection::vec(position(), 0..5)) {
        let n = ahead_count(&mine, &peers);
        prop_assert!(n <= peers.len());
        prop_assert_eq!(n, peers.iter().filter(|p| mine.relation(p) == Relation::Behind).count());
        prop_assert_eq!(mine.may_be_prefix_of(&mine), true);
    }

    /// Any row (names and values as text) is read without panicking; the error fields are set
    /// exactly when their number is a non-zero error code.
    #[test]
    fn any_slave_status_row_is_read(
        row in prop::collection::btree_map(
            prop_oneof![
                Just("Master_Port".to_owned()), Just("Last_IO_Errno".to_owned()),
                Just("Last_SQL_Errno".to_owned()), Just("Seconds_Behind_Master".to_owned()),
                Just("Slave_IO_Running".to_owned()), Just("Slave_SQL_Running".to_owned()),
                Just("Gtid_IO_Pos".to_owned()), any::<String>(),
            ],
            prop_oneof![any::<String>(), any::<u64>().prop_map(|n| n.to_string()), Just("Yes".to_owned())],
            0..10,
        ),
        max_lag in any::<u64>(),
    ) {
        let s = SlaveStatus::from_fields(&row);
        let errno = |k: &str| row.get(k).and_then(|v| v.trim().parse::<u32>().ok()).filter(|n| *n > 0);
        prop_assert_eq!(s.io_error.as_ref().map(|e| e.0), errno("Last_IO_Errno"));
        prop_assert_eq!(s.sql_error.as_ref().map(|e| e.0), errno("Last_SQL_Errno"));
        let _ = (s.problem(max_lag), s.refusal());
    }

    #[test]
    fn any_node_map_parses_or_names_the_entry(text in any::<String>(), port in 1u16..) {
        if let Ok(map) = parse_node_map(&text, port) {
            for (node, addr) in &map {
                prop_assert!(!node.is_empty() && !addr.host.is_empty() && addr.port > 0);
            }
        }
    }

    /// A map written as `node=host:port` (IPv6 in brackets) reads back as the same map.
    #[test]
    fn a_written_node_map_reads_back(
        map in prop::collection::btree_map(
            "[a-z0-9_.-]{1,8}",
            (prop_oneof!["[a-z0-9.-]{1,12}", "[0-9a-f]{1,4}(:[0-9a-f]{0,4}){2,7}"], 1u16..),
            0..5,
        ),
        sep in prop_oneof![Just(" "), Just(","), Just(";"), Just("\n"), Just(" ,\t")],
    ) {
        let want: BTreeMap<String, Addr> =
            map.into_iter().map(|(n, (host, port))| (n, Addr { host, port })).collect();
        let text: Vec<String> = want.iter().map(|(n, a)| format!("{n}={a}")).collect();
        prop_assert_eq!(parse_node_map(&text.join(sep), 3306), Ok(want));
    }

    #[test]
    fn a_secret_is_its_first_line(
        secret in "[^\r\n]{1,40}",
        ending in prop_oneof![Just(""), Just("\n"), Just("\r\n")],
        rest in any::<String>(),
    ) {
        let text = if ending.is_empty() { secret.clone() } else { format!("{secret}{ending}{rest}") };
        prop_assert_eq!(secret_from_text(&text), Ok(secret));
    }

    #[test]
    fn any_secret_text_gives_one_line_or_none(text in any::<String>()) {
        if let Ok(s) = secret_from_text(&text) {
            prop_assert!(!s.is_empty() && !s.contains('\n') && !s.ends_with('\r'));
        }
    }

    /// What MySQL reads from the literal is exactly the value.
    #[test]
    fn sql_literals_read_back(value in any::<String>()) {
        match sql_literal(&value) {
            Some(lit) => prop_assert_eq!(mysql_unquote(&lit), Some(value)),
            None => prop_assert!(value.contains('\0')),
        }
    }

    #[test]
    fn a_state_file_reads_back(
        role in prop_oneof![
            Just(None), Just(Some(ServerRole::Standalone)),
            Just(Some(ServerRole::Unpromoted)), Just(Some(ServerRole::Promoted)),
        ],
        diverged in prop::option::of("[^\r\n]{1,60}"),
    ) {
        let s = State { role, diverged, read_only_at: None };
        prop_assert_eq!(State::parse(&s.render()), s);
    }

    /// Any text is read, and what it says reads back. (A carriage return is left out: a value
    /// ending in one does not survive, so `diverged=\r` reads back as not diverged; the agent
    /// only ever writes sentences there.)
    #[test]
    fn any_state_file_text_is_read(
        text in prop_oneof![
            any::<String>(),
            prop::collection::vec(("(role|diverged|other)", prop_oneof![any::<String>(), "[a-z\n =]{0,8}"]), 0..4)
                .prop_map(|lines| {
                    let lines: Vec<String> = lines.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    lines.join("\n")
                }),
        ].prop_filter("no carriage return", |t| !t.contains('\r')),
    ) {
        let s = State::parse(&text);
        prop_assert_eq!(State::parse(&s.render()), s);
    }

    #[test]
    fn our_server_is_found_by_both_arguments_anywhere(
        before in prop::collection::vec("[^\u{0}]{0,12}", 0..4),
        datadir in "/[a-z/]{1,12}",
        pid_file in "/[a-z/.]{1,12}",
        swap in any::<bool>(),
    ) {
        let dd = format!("--datadir={datadir}");
        let pf = format!("--pid-file={pid_file}");
        let mut args: Vec<&str> = before.iter().map(String::as_str).collect();
        if swap { args.extend([pf.as_str(), dd.as_str()]) } else { args.extend([dd.as_str(), pf.as_str()]) }
        let cmdline = |args: &[&str]| args.iter().flat_map(|a| a.bytes().chain([0])).collect::<Vec<u8>>();
        prop_assert!(cmdline_is_ours(&cmdline(&args), &datadir, &pid_file));
        let without: Vec<&str> = args.iter().copied().filter(|a| *a != dd).collect();
        prop_assert!(!cmdline_is_ours(&cmdline(&without), &datadir, &pid_file));
    }

    #[test]
    fn any_cmdline_bytes_are_judged(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = cmdline_is_ours(&bytes, "/var/lib/mysql", "/run/mysqld/mysqld.pid");
    }
}
