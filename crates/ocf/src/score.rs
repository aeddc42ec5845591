//! Promotion scores through `crm_attribute --promotion` (lifetime reboot), never the deprecated
//! `crm_master`. Outside a cluster (ocf-tester, a lab without Pacemaker) the call fails: that is
//! logged, not fatal, as resource-agents' `ocf_promotion_score` callers expect.
//!
//! [`Publisher`] is the one way an agent publishes: its own score on this node, optionally only
//! when it changed, and (for an agent that finds a peer further ahead) a peer's score.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Ctx;
use crate::exec;

/// Publishes this instance's promotion score.
///
/// With a cache, a score is published only when it differs from what this instance last
/// published, so a monitor whose score did not change forks nothing. The last value lives in
/// `<dir>/<instance>.score`; `dir` should be on a tmpfs such as /run, wiped at boot like the
/// lifetime=reboot attribute. Probes always publish: after a Pacemaker restart attrd has
/// forgotten the score while the file is still there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Publisher {
    cache: Option<PathBuf>,
}

/// What one `crm_attribute` call does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Update(i64),
    Delete,
}

/// The one place the `crm_attribute` arguments are built: this instance's promotion attribute
/// on `node` (this node's, from `CRM_meta_on_node`, when `None`).
fn args(ctx: &Ctx, node: Option<&str>, op: Op) -> Vec<String> {
    let mut args = vec![format!("--promotion={}", ctx.instance), "--lifetime=reboot".into()];
    if let Some(node) = node.or(ctx.node.as_deref()) {
        args.push(format!("--node={node}"));
    }
    match op {
        Op::Update(n) => args.extend(["--update".into(), n.to_string()]),
        Op::Delete => args.push("--delete".into()),
    }
    args
}

fn call(ctx: &Ctx, node: Option<&str>, op: Op) -> Result<(), exec::ExecError> {
    let args = args(ctx, node, op);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    exec::run("crm_attribute", &args, &ctx.deadline).map(|_| ())
}

impl Publisher {
    /// Publish every time.
    pub fn uncached() -> Publisher {
        Publisher { cache: None }
    }

    /// Publish only changes, remembering the last value of `instance` under `dir` (created
    /// when first written).
    pub fn cached(dir: &Path, instance: &str) -> Publisher {
        let name: String = instance
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "-_.:".contains(c) { c } else { '_' })
            .collect();
        Publisher { cache: Some(dir.join(format!("{name}.score"))) }
    }

    fn last(&self) -> Option<String> {
        let path = self.cache.as_ref()?;
        fs::read_to_string(path).ok().map(|s| s.trim().to_owned())
    }

    fn remember(&self, value: &str) {
        let Some(path) = &self.cache else { return };
        if let Err(e) = crate::state_file::write(path, format!("{value}\n")) {
            log::debug!("cannot write {}: {e}", path.display());
        }
    }

    /// Forget what was last published, so that the next [`Publisher::publish`] runs.
    pub fn forget(&self) {
        if let Some(path) = &self.cache {
            let _ = fs::remove_file(path);
        }
    }

    /// Whether `value` must be published (no cache, a probe, or not what was last published).
    fn needs(&self, probe: bool, value: &str) -> bool {
        self.cache.is_none() || probe || self.last().as_deref() != Some(value)
    }

    /// Publish this node's `score` (`None`: delete it); failures are logged.
    pub fn publish(&self, ctx: &Ctx, score: Option<i64>) {
        let value = score.map_or_else(|| "deleted".to_owned(), |n| n.to_string());
        if !self.needs(ctx.is_probe(), &value) {
            return;
        }
        match call(ctx, None, score.map_or(Op::Delete, Op::Update)) {
            Ok(()) => {
                log::info!("promotion score: {value}");
                self.remember(&value);
            }
            Err(e) => {
                log::warn!("could not publish promotion score {value}: {e}");
                self.forget();
            }
        }
    }

    /// Set `node`'s score for this instance (a promote that found `node` further ahead moves
    /// the score there; `None` deletes it: a primary withdraws the score of a replica that is
    /// not replicating from it); never cached, failures are logged.
    pub fn publish_for(&self, ctx: &Ctx, node: &str, score: impl Into<Option<i64>>) {
        let score = score.into();
        let value = score.map_or_else(|| "deleted".to_owned(), |n| n.to_string());
        match call(ctx, Some(node), score.map_or(Op::Delete, Op::Update)) {
            Ok(()) => log::info!("promotion score of {node}: {value}"),
            Err(e) => log::warn!("could not set the promotion score of {node} to {value}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;
    use crate::env::OcfEnv;
    use crate::test_support::ctx_for;

    #[test]
    fn cache_file_names_are_safe() {
        let c = Publisher::cached(Path::new("/run/x"), "vol:0/../y");
        assert_eq!(c.cache.as_deref(), Some(Path::new("/run/x/vol:0_.._y.score")));
    }

    #[test]
    fn cache_skips_an_unchanged_score_but_not_in_a_probe() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Publisher::cached(&dir.path().join("state"), "vol:0");
        assert!(cache.needs(false, "10000"), "nothing published yet");
        cache.remember("10000");
        assert!(!cache.needs(false, "10000"));
        assert!(cache.needs(true, "10000"), "a probe always publishes");
        assert!(cache.needs(false, "1000"));
        cache.remember("deleted");
        assert!(!cache.needs(false, "deleted"));
        assert!(cache.needs(false, "10000"));
        cache.forget();
        assert!(cache.needs(false, "deleted"), "forgotten");
        assert!(Publisher::uncached().needs(false, "10000"), "no cache: always");
    }

    #[test]
    fn uses_promotion_lifetime_reboot_and_node() {
        let env = OcfEnv::from_pairs(&[
            ("OCF_RESOURCE_INSTANCE", "db:1"),
            ("OCF_RESKEY_CRM_meta_on_node", "n2"),
        ]);
        let ctx = ctx_for(env, Action::Monitor);
        assert_eq!(
            args(&ctx, None, Op::Update(1000)),
            ["--promotion=db:1", "--lifetime=reboot", "--node=n2", "--update", "1000"]
        );
        assert_eq!(
            args(&ctx, None, Op::Delete),
            ["--promotion=db:1", "--lifetime=reboot", "--node=n2", "--delete"]
        );
        assert_eq!(
            args(&ctx, Some("n3"), Op::Update(1000)),
            ["--promotion=db:1", "--lifetime=reboot", "--node=n3", "--update", "1000"]
        );
        let outside = ctx_for(OcfEnv::from_pairs(&[("OCF_RESOURCE_INSTANCE", "v")]), Action::Start);
        assert_eq!(
            args(&outside, None, Op::Delete),
            ["--promotion=v", "--lifetime=reboot", "--delete"]
        );
    }
}
