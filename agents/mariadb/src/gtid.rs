//! MariaDB GTID positions as a typed, multi-domain set.
//!
//! A position such as `@@gtid_current_pos` is a comma-separated list of `domain-server-seq`
//! triples, at most one per replication domain. With `gtid_strict_mode` the sequence numbers of
//! a domain grow monotonically along one history, so per domain the entry with the higher
//! sequence number is further along. Two positions are compared domain by domain, never by one
//! sequence number, as resource-agents' heartbeat `mariadb` agent does (it compares the third
//! field of the whole string).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

/// One GTID: the last transaction applied in a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Gtid {
    /// `gtid_domain_id`.
    pub(crate) domain: u32,
    /// `server_id` of the server that committed it.
    pub(crate) server: u32,
    /// Sequence number within the domain.
    pub(crate) seq: u64,
}

/// A GTID position: at most one [`Gtid`] per domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct GtidSet {
    domains: BTreeMap<u32, Gtid>,
}

/// A position that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a GTID position: {0}")]
pub(crate) struct ParseError(pub String);

/// How two positions relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Relation {
    /// The same position.
    Equal,
    /// The left one has everything the right one has, and more.
    Ahead,
    /// The right one has everything the left one has, and more.
    Behind,
    /// Each has something the other lacks, or the same sequence number was committed by two
    /// servers: the histories forked.
    Diverged,
}

impl Gtid {
    fn parse(s: &str) -> Result<Gtid, ParseError> {
        let bad = || ParseError(format!("'{s}' is not domain-server-seq"));
        let mut it = s.trim().split('-');
        let (Some(d), Some(sv), Some(n), None) = (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(bad());
        };
        Ok(Gtid {
            domain: d.parse().map_err(|_| bad())?,
            server: sv.parse().map_err(|_| bad())?,
            seq: n.parse().map_err(|_| bad())?,
        })
    }
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.seq)
    }
}

impl GtidSet {
    /// Parse `@@gtid_current_pos` / `@@gtid_binlog_pos` / `Gtid_IO_Pos` text. Empty is the
    /// empty position; a domain given twice is an error.
    pub(crate) fn parse(text: &str) -> Result<GtidSet, ParseError> {
        let mut domains = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let g = Gtid::parse(part)?;
            if domains.insert(g.domain, g).is_some() {
                return Err(ParseError(format!("domain {} appears twice in '{text}'", g.domain)));
            }
        }
        Ok(GtidSet { domains })
    }

    /// Per domain, the entry with the higher sequence number (for "received or applied").
    #[must_use]
    pub(crate) fn union(&self, other: &GtidSet) -> GtidSet {
        let mut out = self.clone();
        for (d, g) in &other.domains {
            match out.domains.get(d) {
                Some(mine) if mine.seq >= g.seq => {}
                _ => {
                    out.domains.insert(*d, *g);
                }
            }
        }
        out
    }

    /// Compare with `other` domain by domain. Equal sequence numbers from different servers
    /// mean two servers committed the same number: a fork.
    pub(crate) fn relation(&self, other: &GtidSet) -> Relation {
        let (mut ahead, mut behind) = (false, false);
        let all = self.domains.keys().chain(other.domains.keys());
        for d in all {
            match (self.domains.get(d), other.domains.get(d)) {
                (Some(a), Some(b)) => match a.seq.cmp(&b.seq) {
                    Ordering::Greater => ahead = true,
                    Ordering::Less => behind = true,
                    Ordering::Equal if a.server != b.server => return Relation::Diverged,
                    Ordering::Equal => {}
                },
                (Some(_), None) => ahead = true,
                (None, Some(_)) => behind = true,
                (None, None) => {}
            }
        }
        match (ahead, behind) {
            (false, false) => Relation::Equal,
            (true, false) => Relation::Ahead,
            (false, true) => Relation::Behind,
            (true, true) => Relation::Diverged,
        }
    }

    /// `self` may be a prefix of the history that ends at `primary`: no domain is further
    /// along here, and no sequence number was committed by another server. (Whether an
    /// earlier GTID is really in the primary's binlog only the primary can tell: it answers
    /// error 1236 when it is not.)
    pub(crate) fn may_be_prefix_of(&self, primary: &GtidSet) -> bool {
        matches!(self.relation(primary), Relation::Equal | Relation::Behind)
    }

    /// How many transactions `self` has beyond `other`: per domain, the sequence numbers past
    /// `other`'s (all of them in a domain `other` lacks).
    pub(crate) fn count_beyond(&self, other: &GtidSet) -> u64 {
        self.domains
            .iter()
            .map(|(d, g)| g.seq.saturating_sub(other.domains.get(d).map_or(0, |o| o.seq)))
            .sum()
    }

    /// The entry of each domain, in domain order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Gtid> {
        self.domains.values()
    }

    /// The entry of `domain`, if any.
    pub(crate) fn get(&self, domain: u32) -> Option<&Gtid> {
        self.domains.get(&domain)
    }
}

impl fmt::Display for GtidSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for g in self.domains.values() {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{g}")?;
        }
        Ok(())
    }
}

/// `@@gtid_binlog_state`: the last sequence number per *(domain, server)*, not just per domain.
/// It tells a higher-numbered fork (0-1-300 against the history 0-1-100, 0-2-200) from a server
/// that is further along the same history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BinlogState {
    last: BTreeMap<(u32, u32), u64>,
}

impl BinlogState {
    /// Parse `domain-server-seq` triples (any number per domain).
    pub(crate) fn parse(text: &str) -> Result<BinlogState, ParseError> {
        let mut st = BinlogState::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            st.add(&Gtid::parse(part)?);
        }
        Ok(st)
    }

    /// Take `g` into account (keeping the higher sequence number of its server).
    pub(crate) fn add(&mut self, g: &Gtid) {
        let e = self.last.entry((g.domain, g.server)).or_insert(g.seq);
        *e = (*e).max(g.seq);
    }

    /// Every entry of `set` added.
    pub(crate) fn with(mut self, set: &GtidSet) -> BinlogState {
        for g in set.iter() {
            self.add(g);
        }
        self
    }

    /// The first *(domain, server)* whose transactions `self` has further than `other`: a
    /// server `other` lacks something of. `None` when `other` has at least everything `self`
    /// records.
    pub(crate) fn beyond(&self, other: &BinlogState) -> Option<Gtid> {
        self.last.iter().find_map(|(&(domain, server), &seq)| {
            let theirs = other.last.get(&(domain, server)).copied().unwrap_or(0);
            (seq > theirs).then_some(Gtid { domain, server, seq })
        })
    }
}

/// How many of `peers` are strictly ahead of `mine`: the rank used for promotion scores.
pub(crate) fn ahead_count<'a>(
    mine: &GtidSet,
    peers: impl IntoIterator<Item = &'a GtidSet>,
) -> usize {
    peers.into_iter().filter(|p| p.relation(mine) == Relation::Ahead).count()
}

/// The transactions this server (`server_id`) committed itself since its binary log was at
/// `since`: the last GTID of a domain in `now` that carries its own server id and was not there
/// before. On a replica those are local writes (review item D12): replicated transactions keep
/// the primary's server id.
pub(crate) fn own_writes_since(now: &GtidSet, since: &GtidSet, server_id: u32) -> Vec<Gtid> {
    now.iter()
        .filter(|g| g.server == server_id && since.get(g.domain) != Some(*g))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_writes_are_new_last_gtids_with_this_server_id() {
        let since = s("0-1-500,1-3-2");
        assert!(own_writes_since(&since, &since, 3).is_empty(), "unchanged since read-only");
        assert!(own_writes_since(&s("0-1-510,1-3-2"), &since, 3).is_empty(), "replicated from 1");
        assert_eq!(
            own_writes_since(&s("0-3-501,1-3-2"), &since, 3),
            vec![s("0-3-501").iter().copied().next().unwrap()]
        );
        assert_eq!(own_writes_since(&s("0-1-500,1-3-3"), &since, 3).len(), 1, "another domain");
        assert_eq!(own_writes_since(&s("0-1-500,1-3-2,2-3-1"), &since, 3).len(), 1, "new domain");
        assert!(own_writes_since(&s("0-1-500,1-3-2,2-1-1"), &since, 3).is_empty());
        assert_eq!(own_writes_since(&s("0-3-1"), &s(""), 3).len(), 1, "from an empty binary log");
    }

    fn s(t: &str) -> GtidSet {
        GtidSet::parse(t).unwrap()
    }

    #[test]
    fn parses_single_and_multi_domain() {
        assert!(s("").domains.is_empty());
        assert!(s("  ").domains.is_empty());
        let one = s("0-1-42");
        assert_eq!(one.domains.get(&0), Some(&Gtid { domain: 0, server: 1, seq: 42 }));
        let two = s("0-1-42, 1-3-7");
        assert_eq!(two.domains.get(&1), Some(&Gtid { domain: 1, server: 3, seq: 7 }));
        assert_eq!(two.to_string(), "0-1-42,1-3-7");
        assert_eq!(s("1-3-7,0-1-42"), two, "order does not matter");
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["0-1", "0-1-2-3", "a-1-2", "0-1-x", "0-1-2,0-2-3", "-1-2", "0--2"] {
            assert!(GtidSet::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            GtidSet::parse("0-1-2,0-2-3").unwrap_err().to_string(),
            "not a GTID position: domain 0 appears twice in '0-1-2,0-2-3'"
        );
    }

    #[test]
    fn relation_single_domain() {
        assert_eq!(s("0-1-5").relation(&s("0-1-5")), Relation::Equal);
        assert_eq!(s("0-1-6").relation(&s("0-1-5")), Relation::Ahead);
        assert_eq!(s("0-1-4").relation(&s("0-1-5")), Relation::Behind);
        // A later transaction from another server is still further along the same domain.
        assert_eq!(s("0-2-9").relation(&s("0-1-5")), Relation::Ahead);
        assert_eq!(s("").relation(&s("0-1-5")), Relation::Behind);
        assert_eq!(s("").relation(&s("")), Relation::Equal);
    }

    #[test]
    fn same_seq_from_two_servers_is_a_fork() {
        assert_eq!(s("0-1-11").relation(&s("0-2-11")), Relation::Diverged);
        assert!(!s("0-1-11").may_be_prefix_of(&s("0-2-11")));
    }

    #[test]
    fn relation_multi_domain_is_per_domain_not_by_one_seq() {
        // The heartbeat agent compares the third field of the whole string only: 0-1-100
        // "beats" 0-1-5,1-2-50 there although the latter is ahead in domain 1 and behind in 0.
        assert_eq!(s("0-1-100").relation(&s("0-1-5,1-2-50")), Relation::Diverged);
        assert_eq!(s("0-1-5,1-2-50").relation(&s("0-1-5,1-2-49")), Relation::Ahead);
        assert_eq!(s("0-1-5,1-2-50").relation(&s("0-1-5")), Relation::Ahead);
        assert_eq!(s("0-1-5").relation(&s("0-1-5,1-2-50")), Relation::Behind);
        assert_eq!(s("0-1-6,1-2-49").relation(&s("0-1-5,1-2-50")), Relation::Diverged);
    }

    #[test]
    fn prefix_rule_for_rejoining_old_primary() {
        let primary = s("0-2-20");
        assert!(s("0-1-10").may_be_prefix_of(&primary));
        assert!(s("0-2-20").may_be_prefix_of(&primary));
        assert!(!s("0-1-21").may_be_prefix_of(&primary), "old primary committed more");
        assert!(!s("0-1-10,1-1-3").may_be_prefix_of(&primary), "a domain the primary lacks");
        assert!(s("").may_be_prefix_of(&primary));
    }

    #[test]
    fn union_takes_the_further_entry_per_domain() {
        assert_eq!(s("0-1-5,1-2-3").union(&s("0-1-7,2-3-1")), s("0-1-7,1-2-3,2-3-1"));
        assert_eq!(s("0-1-9").union(&s("0-1-7")), s("0-1-9"));
    }

    #[test]
    fn count_beyond_counts_per_domain() {
        assert_eq!(s("0-1-15").count_beyond(&s("0-1-5")), 10);
        assert_eq!(s("0-1-15,1-3-4").count_beyond(&s("0-2-20")), 4);
        assert_eq!(s("0-1-5").count_beyond(&s("0-1-15")), 0);
    }

    #[test]
    fn binlog_state_tells_a_higher_numbered_fork() {
        let history = BinlogState::parse("0-1-100,0-2-200").unwrap();
        let fork = BinlogState::parse("0-1-300").unwrap();
        // By the last GTID alone the fork looks ahead; it lacks server 2's transactions.
        assert_eq!(s("0-1-300").relation(&s("0-2-200")), Relation::Ahead);
        assert_eq!(history.beyond(&fork), Some(Gtid { domain: 0, server: 2, seq: 200 }));
        let further = BinlogState::parse("0-1-100,0-2-250").unwrap();
        assert_eq!(history.beyond(&further), None);
        let received = BinlogState::parse("0-1-100").unwrap().with(&s("0-2-240"));
        assert_eq!(BinlogState::parse("0-2-200").unwrap().beyond(&received), None);
    }

    #[test]
    fn ahead_count_ranks() {
        let peers = [s("0-1-10"), s("0-1-12"), s("0-1-9"), s("0-1-11")];
        assert_eq!(ahead_count(&s("0-1-12"), &peers), 0);
        assert_eq!(ahead_count(&s("0-1-11"), &peers), 1);
        assert_eq!(ahead_count(&s("0-1-9"), &peers), 3);
        assert_eq!(ahead_count(&s("0-1-9,1-1-1"), &peers), 0, "incomparable is not ahead");
    }
}
