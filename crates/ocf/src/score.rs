//! Promotion scores through `crm_attribute --promotion` (lifetime reboot), never the deprecated
//! `crm_master`. Outside a cluster (ocf-tester, a lab without Pacemaker) the call fails: that is
//! logged, not fatal, as resource-agents' `ocf_promotion_score` callers expect.

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
