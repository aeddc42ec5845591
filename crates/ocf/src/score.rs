//! Promotion scores through `crm_attribute --promotion` (lifetime reboot), never the deprecated
//! `crm_master`. Outside a cluster (ocf-tester, a lab without Pacemaker) the call fails: that is
//! logged, not fatal, as resource-agents' `ocf_promotion_score` callers expect.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Ctx;
use crate::exec::{self, ExecError};

const TOOL: &str = "crm_attribute";

fn base_args(ctx: &Ctx) -> Vec<String> {
    let mut args = vec![format!("--promotion={}", ctx.instance), "--lifetime=reboot".into()];
    if let Some(node) = &ctx.node {
        args.push(format!("--node={node}"));
    }
    args
}

fn call(ctx: &Ctx, extra: &[String]) -> Result<exec::Output, ExecError> {
    let mut args = base_args(ctx);
    args.extend_from_slice(extra);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    exec::run(TOOL, &args, &ctx.deadline)
}

/// Set this instance's promotion score on this node; failures are logged.
pub fn set(ctx: &Ctx, score: i64) {
    match call(ctx, &["--update".into(), score.to_string()]) {
        Ok(_) => log::debug!("promotion score set to {score}"),
        Err(e) => log::warn!("could not set promotion score {score}: {e}"),
    }
}

/// Remove this instance's promotion score on this node; failures are logged.
pub fn delete(ctx: &Ctx) {
    match call(ctx, &["--delete".into()]) {
        Ok(_) => log::debug!("promotion score removed"),
        Err(e) => log::warn!("could not remove promotion score: {e}"),
    }
}

/// This instance's promotion score on this node, if set and readable.
pub fn get(ctx: &Ctx) -> Option<i64> {
    let out = call(ctx, &["--query".into(), "--quiet".into()]).ok()?;
    out.stdout.trim().parse().ok()
}

/// Publishes a score only when it differs from what this instance last published, so a monitor
/// whose score did not change forks nothing. The last value lives in `<dir>/<instance>.score`;
/// `dir` should be on a tmpfs such as /run, wiped at boot like the lifetime=reboot attribute.
/// Probes always publish: after a Pacemaker restart attrd has forgotten the score while the file
/// is still there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cached {
    path: PathBuf,
}

impl Cached {
    /// The cache of `instance` under `dir` (created when first written).
    pub fn new(dir: &Path, instance: &str) -> Cached {
        let name: String = instance
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || "-_.:".contains(c) { c } else { '_' })
            .collect();
        Cached { path: dir.join(format!("{name}.score")) }
    }

    fn last(&self) -> Option<String> {
        fs::read_to_string(&self.path).ok().map(|s| s.trim().to_owned())
    }

    fn remember(&self, value: &str) {
        let written = self
            .path
            .parent()
            .map_or(Ok(()), fs::create_dir_all)
            .and_then(|()| fs::write(&self.path, format!("{value}\n")));
        if let Err(e) = written {
            log::debug!("cannot write {}: {e}", self.path.display());
        }
    }

    /// Whether `value` must be published (a probe, or not what was last published).
    fn needs(&self, probe: bool, value: &str) -> bool {
        probe || self.last().as_deref() != Some(value)
    }

    /// Publish `score` (`None`: delete it) unless it is what was last published.
    pub fn publish(&self, ctx: &Ctx, score: Option<i64>) {
        let value = score.map_or_else(|| "deleted".to_owned(), |n| n.to_string());
        if !self.needs(ctx.is_probe(), &value) {
            return;
        }
        let res = match score {
            Some(n) => call(ctx, &["--update".into(), n.to_string()]),
            None => call(ctx, &["--delete".into()]),
        };
        match res {
            Ok(_) => {
                log::debug!("promotion score: {value}");
                self.remember(&value);
            }
            Err(e) => {
                log::warn!("could not publish promotion score {value}: {e}");
                let _ = fs::remove_file(&self.path);
            }
        }
    }
}

/// The argument list, for tests and docs.
pub fn args_for_update(ctx: &Ctx, score: i64) -> Vec<String> {
    let mut a = base_args(ctx);
    a.extend(["--update".into(), score.to_string()]);
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Action;
    use crate::env::OcfEnv;
    use crate::test_support::ctx_for;

    #[test]
    fn cache_file_names_are_safe() {
        let c = Cached::new(Path::new("/run/x"), "vol:0/../y");
        assert_eq!(c.path, Path::new("/run/x/vol:0_.._y.score"));
    }

    #[test]
    fn cache_skips_an_unchanged_score_but_not_in_a_probe() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cached::new(&dir.path().join("state"), "vol:0");
        assert!(cache.needs(false, "10000"), "nothing published yet");
        cache.remember("10000");
        assert!(!cache.needs(false, "10000"));
        assert!(cache.needs(true, "10000"), "a probe always publishes");
        assert!(cache.needs(false, "1000"));
        cache.remember("deleted");
        assert!(!cache.needs(false, "deleted"));
        assert!(cache.needs(false, "10000"));
    }

    #[test]
    fn uses_promotion_lifetime_reboot_and_node() {
        let env = OcfEnv::from_pairs(&[
            ("OCF_RESOURCE_INSTANCE", "db:1"),
            ("OCF_RESKEY_CRM_meta_on_node", "n2"),
        ]);
        let ctx = ctx_for(env, Action::Monitor);
        assert_eq!(
            args_for_update(&ctx, 1000),
            ["--promotion=db:1", "--lifetime=reboot", "--node=n2", "--update", "1000"]
        );
    }
}
