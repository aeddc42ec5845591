//! MariaDB GTID positions as a typed, multi-domain set.
//!
//! A position such as `@@gtid_current_pos` is a comma-separated list of `domain-server-seq`
//! triples, at most one per replication domain. With `gtid_strict_mode` the sequence numbers of
//! a domain grow monotonically along one history, so per domain the entry with the higher
//! sequence number is further along. Two positions are compared domain by domain, never by one
//! sequence number (the heartbeat `mariadb` agent's bug, anchors §2.3).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

/// One GTID: the last transaction applied in a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gtid {
    /// `gtid_domain_id`.
    pub domain: u32,
    /// `server_id` of the server that committed it.
    pub server: u32,
    /// Sequence number within the domain.
    pub seq: u64,
}

/// A GTID position: at most one [`Gtid`] per domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GtidSet {
    domains: BTreeMap<u32, Gtid>,
}

/// A position that could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a GTID position: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

/// How two positions relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
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
    pub fn parse(text: &str) -> Result<GtidSet, ParseError> {
        let mut domains = BTreeMap::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let g = Gtid::parse(part)?;
            if domains.insert(g.domain, g).is_some() {
                return Err(ParseError(format!("domain {} appears twice in '{text}'", g.domain)));
            }
        }
        Ok(GtidSet { domains })
    }

    /// No transaction at all.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }

    /// The entry of `domain`.
    pub fn get(&self, domain: u32) -> Option<&Gtid> {
        self.domains.get(&domain)
    }

    /// Per domain, the entry with the higher sequence number (for "received or applied").
    #[must_use]
    pub fn union(&self, other: &GtidSet) -> GtidSet {
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
    pub fn relation(&self, other: &GtidSet) -> Relation {
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
    pub fn may_be_prefix_of(&self, primary: &GtidSet) -> bool {
        matches!(self.relation(primary), Relation::Equal | Relation::Behind)
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

/// How many of `peers` are strictly ahead of `mine`: the rank used for promotion scores.
pub fn ahead_count<'a>(mine: &GtidSet, peers: impl IntoIterator<Item = &'a GtidSet>) -> usize {
    peers.into_iter().filter(|p| p.relation(mine) == Relation::Ahead).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(t: &str) -> GtidSet {
        GtidSet::parse(t).unwrap()
    }

    #[test]
    fn parses_single_and_multi_domain() {
        assert!(s("").is_empty());
        assert!(s("  ").is_empty());
        let one = s("0-1-42");
        assert_eq!(one.get(0), Some(&Gtid { domain: 0, server: 1, seq: 42 }));
        let two = s("0-1-42, 1-3-7");
        assert_eq!(two.get(1), Some(&Gtid { domain: 1, server: 3, seq: 7 }));
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
    fn ahead_count_ranks() {
        let peers = [s("0-1-10"), s("0-1-12"), s("0-1-9"), s("0-1-11")];
        assert_eq!(ahead_count(&s("0-1-12"), &peers), 0);
        assert_eq!(ahead_count(&s("0-1-11"), &peers), 1);
        assert_eq!(ahead_count(&s("0-1-9"), &peers), 3);
        assert_eq!(ahead_count(&s("0-1-9,1-1-1"), &peers), 0, "incomparable is not ahead");
    }
}
