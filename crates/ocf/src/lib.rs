//! The OCF resource-agent core shared by the ferroha agents.
//!
//! An agent is a type implementing [`Agent`]: one parameter table and action table
//! ([`AgentInfo`]), a `validate` that turns the environment into a typed configuration, and one
//! short function per action. Its `main.rs` is one line, `ocf::main(&Agent)`, and [`run`] does the
//! rest the same way for every agent:
//!
//! - the action comes from argv\[1\] only; a missing or unknown one exits 3 with usage;
//! - `meta-data` and `usage` never read the environment or validate anything;
//! - the environment is read once into an [`OcfEnv`] and a [`Ctx`] (instance, probe flag, clone
//!   and notify metas, a [`Deadline`] derived from `CRM_meta_timeout`);
//! - parameters are checked against the table (missing or ill-typed → 6 naming the parameter);
//! - a failure is an [`OcfError`]: its code is the exit status and its sentence the last stderr
//!   line, `${OCF_EXIT_REASON_PREFIX:-ocf-exit-reason:}<reason>`;
//! - a panic becomes exit 1 with a reason, never Rust's 101;
//! - `notify` never fails (errors are logged), as Pacemaker requires.
//!
//! # Example
//! ```no_run
//! use ocf::{ActionSpec, Agent, AgentInfo, Ctx, OcfError, Param, Status, Values};
//! const STATE: Param = Param::string("state").default("/run/null").desc("state file", "Where.");
//! struct Null;
//! impl Agent for Null {
//!     type Config = ();
//!     const INFO: AgentInfo = AgentInfo {
//!         name: "null", version: "0.1.0", shortdesc: "does nothing", longdesc: "Nothing.",
//!         params: &[STATE],
//!         actions: &[ActionSpec::new("start", 20), ActionSpec::new("stop", 20), ActionSpec::monitor(20, 10)],
//!     };
//!     fn validate(&self, _: &Values<'_>, _: &Ctx) -> Result<(), OcfError> { Ok(()) }
//!     fn monitor(&self, _: &(), _: &Ctx) -> Result<Status, OcfError> { Ok(Status::NotRunning) }
//!     fn start(&self, _: &(), _: &Ctx) -> Result<(), OcfError> { Ok(()) }
//!     fn stop(&self, _: &(), _: &Ctx) -> Result<(), OcfError> { Ok(()) }
//! }
//! fn main() -> std::process::ExitCode { ocf::main(&Null) }
//! ```

#![deny(missing_docs)]

pub mod accounts;
mod action;
mod code;
pub mod deadline;
pub mod doc;
pub mod env;
mod error;
pub mod exec;
pub mod log;
pub mod metadata;
pub mod param;
pub mod proc;
pub mod score;
pub mod state_file;

use std::ffi::OsString;
use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::time::Duration;

pub use action::Action;
pub use code::{OcfCode, Status};
pub use deadline::Deadline;
pub use env::{CloneMeta, Notify, NotifyOp, NotifyType, OcfEnv, Peer};
pub use error::{Context, OcfError};
pub use metadata::{ActionSpec, AgentInfo, MetaRole};
pub use param::{Kind, Param, Values};

/// Timeout assumed for an action that neither Pacemaker nor meta-data gives one for.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Everything about the current invocation except the parameters' meaning.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The environment as read at start-up.
    pub env: OcfEnv,
    /// The action being run.
    pub action: Action,
    /// Agent type name.
    pub agent: &'static str,
    /// `OCF_RESOURCE_INSTANCE` (the agent name when unset).
    pub instance: String,
    /// `CRM_meta_interval`; zero for probes and one-off operations.
    pub interval: Duration,
    /// `CRM_meta_timeout`, or the advertised timeout.
    pub timeout: Duration,
    /// When this action must be done.
    pub deadline: Deadline,
    /// `OCF_CHECK_LEVEL` (0 when unset or not a number).
    pub check_level: u32,
    /// This node's name, `CRM_meta_on_node`.
    pub node: Option<String>,
    /// Clone metas.
    pub clone: CloneMeta,
    /// Notify variables, for `notify`.
    pub notify: Option<Notify>,
}

impl Ctx {
    /// Build from the environment for `action` of an agent described by `info`.
    pub fn new(info: &AgentInfo, action: Action, env: OcfEnv) -> Ctx {
        let advertised = info.timeout_s(action.name()).map(|s| Duration::from_secs(s.into()));
        let timeout = env::meta_ms(&env, "timeout").or(advertised).unwrap_or(DEFAULT_TIMEOUT);
        Ctx {
            action,
            agent: info.name,
            instance: env.var("OCF_RESOURCE_INSTANCE").unwrap_or(info.name).to_owned(),
            interval: env::meta_ms(&env, "interval").unwrap_or_default(),
            timeout,
            deadline: Deadline::for_timeout(timeout),
            check_level: env
                .var("OCF_CHECK_LEVEL")
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0),
            node: env.meta("on_node").map(str::to_owned),
            clone: CloneMeta::from_env(&env),
            notify: Notify::from_env(&env),
            env,
        }
    }

    /// A probe: a monitor with interval 0 (how Pacemaker learns the initial state).
    pub fn is_probe(&self) -> bool {
        self.action == Action::Monitor && self.interval.is_zero()
    }
}

/// A resource agent. Actions receive the validated configuration; the core handles dispatch,
/// exit codes and reasons.
pub trait Agent {
    /// The typed, validated configuration.
    type Config;
    /// Name, descriptions, parameter and action tables.
    const INFO: AgentInfo;

    /// Turn checked parameter values into a configuration (errors: 2, 5, 6 with a reason naming
    /// the parameter).
    fn validate(&self, values: &Values<'_>, ctx: &Ctx) -> Result<Self::Config, OcfError>;
    /// Report the local state.
    fn monitor(&self, cfg: &Self::Config, ctx: &Ctx) -> Result<Status, OcfError>;
    /// Start (unpromoted); succeed when already started.
    fn start(&self, cfg: &Self::Config, ctx: &Ctx) -> Result<(), OcfError>;
    /// Stop; succeed when already stopped.
    fn stop(&self, cfg: &Self::Config, ctx: &Ctx) -> Result<(), OcfError>;

    /// Promote.
    fn promote(&self, _cfg: &Self::Config, _ctx: &Ctx) -> Result<(), OcfError> {
        Err(OcfError::unimplemented("promote"))
    }
    /// Demote.
    fn demote(&self, _cfg: &Self::Config, _ctx: &Ctx) -> Result<(), OcfError> {
        Err(OcfError::unimplemented("demote"))
    }
    /// Handle a clone notification. Errors are logged and the action still exits 0.
    fn notify(&self, _cfg: &Self::Config, _ctx: &Ctx) -> Result<(), OcfError> {
        Err(OcfError::unimplemented("notify"))
    }
    /// Apply changed reloadable parameters.
    fn reload_agent(&self, _cfg: &Self::Config, _ctx: &Ctx) -> Result<(), OcfError> {
        Ok(())
    }

    /// `stop` when validation failed: a failed stop gets the node fenced, so agents that can
    /// prove nothing is held should return `Ok`. `values` are the parameters as given
    /// ([`Values::unchecked`]). The default reports the validation error.
    fn stop_invalid(
        &self,
        _values: &Values<'_>,
        _ctx: &Ctx,
        err: OcfError,
    ) -> Result<(), OcfError> {
        Err(err)
    }
    /// `monitor` when validation failed (`values` as for [`Agent::stop_invalid`]). By default a
    /// probe reports "not running" when the configuration cannot work on this node
    /// (OCF_ERR_ARGS): the resource cannot be here.
    fn monitor_invalid(
        &self,
        _values: &Values<'_>,
        ctx: &Ctx,
        err: OcfError,
    ) -> Result<Status, OcfError> {
        if ctx.is_probe() && err.code() == OcfCode::ErrArgs {
            ::log::info!("probe: {}; so not running here", err.reason());
            return Ok(Status::NotRunning);
        }
        Err(err)
    }
}

/// Run the agent in this process: what every `main.rs` calls.
pub fn main<A: Agent>(agent: &A) -> ExitCode {
    std::panic::set_hook(Box::new(|info| ::log::error!("internal error: {info}")));
    let rc = run(
        agent,
        std::env::args_os(),
        std::env::vars_os(),
        &mut std::io::stdout(),
        &mut std::io::stderr(),
    );
    ExitCode::from(rc)
}

/// The usage line.
pub fn usage(info: &AgentInfo) -> String {
    let mut names: Vec<&str> = Vec::new();
    for a in
        info.actions.iter().map(|a| a.name).chain(["status", "meta-data", "validate-all", "usage"])
    {
        if !names.contains(&a) {
            names.push(a);
        }
    }
    format!("usage: {} {{{}}}\n", info.name, names.join("|"))
}

/// Run one action and return the exit status; stdout and stderr are injected for tests.
pub fn run<A: Agent>(
    agent: &A,
    args: impl IntoIterator<Item = OsString>,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let action = Action::from_args(args);
    match action {
        Ok(Action::MetaData) => {
            let _ = out.write_all(metadata::render(&A::INFO).as_bytes());
            return 0;
        }
        Ok(Action::Usage) => {
            let _ = out.write_all(usage(&A::INFO).as_bytes());
            return 0;
        }
        _ => {}
    }
    let env = OcfEnv::from_vars(vars);
    let prefix = env.var("OCF_EXIT_REASON_PREFIX").unwrap_or("ocf-exit-reason:").to_owned();
    let action = match action {
        Ok(a) => a,
        Err(given) => {
            let _ = err.write_all(usage(&A::INFO).as_bytes());
            let reason = match given {
                Some(name) => format!("unknown action '{name}'"),
                None => "no action given".to_owned(),
            };
            let _ = writeln!(err, "{prefix}{reason}");
            return OcfCode::ErrUnimplemented.as_u8();
        }
    };
    let ctx = Ctx::new(&A::INFO, action, env);
    let pid = std::process::id();
    log::Logger::from_env(&ctx.env, A::INFO.name, &ctx.instance, pid, log::stderr_is_tty())
        .install();
    let result = catch_unwind(AssertUnwindSafe(|| dispatch(agent, &ctx))).unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(OcfError::generic(format!("internal error in {} {action}: {what}", A::INFO.name)))
    });
    let elapsed = ctx.deadline.elapsed().as_millis();
    match result {
        Ok(code) => {
            ::log::debug!("{action}: rc={code} in {elapsed} ms");
            code.as_u8()
        }
        Err(e) => {
            ::log::error!("{action}: {}", e.detail());
            ::log::debug!("{action}: rc={} in {elapsed} ms", e.code());
            // Last: Pacemaker and ferroha-check read the reason from the final stderr line.
            let _ = writeln!(err, "{prefix}{}", e.reason().replace(['\n', '\r'], " "));
            e.code().as_u8()
        }
    }
}

fn dispatch<A: Agent>(agent: &A, ctx: &Ctx) -> Result<OcfCode, OcfError> {
    let cfg = Values::parse(A::INFO.params, &ctx.env).and_then(|values| {
        if matches!(ctx.action, Action::ValidateAll | Action::Start) {
            for name in values.unknown() {
                ::log::warn!("parameter '{name}' is not known to {} and is ignored", A::INFO.name);
            }
        }
        agent.validate(&values, ctx)
    });
    let cfg = match (cfg, ctx.action) {
        (Ok(cfg), _) => cfg,
        (Err(e), Action::Stop) => {
            let values = Values::unchecked(A::INFO.params, &ctx.env);
            return agent.stop_invalid(&values, ctx, e).map(|()| OcfCode::Success);
        }
        (Err(e), Action::Monitor) => {
            let values = Values::unchecked(A::INFO.params, &ctx.env);
            return agent.monitor_invalid(&values, ctx, e).map(Status::code);
        }
        (Err(e), Action::Notify) => {
            ::log::error!("notify ignored, configuration invalid: {}", e.detail());
            return Ok(OcfCode::Success);
        }
        (Err(e), _) => return Err(e),
    };
    let done = |r: Result<(), OcfError>| r.map(|()| OcfCode::Success);
    match ctx.action {
        Action::Monitor => agent.monitor(&cfg, ctx).map(Status::code),
        Action::Start => done(agent.start(&cfg, ctx)),
        Action::Stop => done(agent.stop(&cfg, ctx)),
        Action::Promote => done(agent.promote(&cfg, ctx)),
        Action::Demote => done(agent.demote(&cfg, ctx)),
        Action::Notify => match agent.notify(&cfg, ctx) {
            Err(e) if e.code() != OcfCode::ErrUnimplemented => {
                ::log::error!("notify failed (ignored, notify must not fail): {}", e.detail());
                Ok(OcfCode::Success)
            }
            r => done(r),
        },
        Action::ReloadAgent => done(agent.reload_agent(&cfg, ctx)),
        Action::ValidateAll => Ok(OcfCode::Success),
        Action::MetaData | Action::Usage => Ok(OcfCode::Success),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub(crate) const INFO: AgentInfo = AgentInfo {
        name: "t",
        version: "0",
        shortdesc: "t",
        longdesc: "t",
        params: &[],
        actions: &[ActionSpec::new("start", 30)],
    };

    pub(crate) fn ctx_for(env: OcfEnv, action: Action) -> Ctx {
        Ctx::new(&INFO, action, env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const NAME: Param = Param::string("name").required().desc("name", "A name.");

    /// A fake agent whose state is a cell, to exercise dispatch and the exit-code policy.
    struct Fake {
        running: Cell<bool>,
    }

    impl Agent for Fake {
        type Config = String;
        const INFO: AgentInfo = AgentInfo {
            name: "fake",
            version: "0.1.0",
            shortdesc: "fake",
            longdesc: "A fake agent.",
            params: &[NAME, Param::integer("n", 0, 10).default("1").desc("n", "A number.")],
            actions: &[
                ActionSpec::new("start", 20),
                ActionSpec::new("stop", 20),
                ActionSpec::monitor(20, 10),
                ActionSpec::new("notify", 5),
            ],
        };

        fn validate(&self, v: &Values<'_>, _: &Ctx) -> Result<String, OcfError> {
            let name = v.str(&NAME);
            if name == "elsewhere" {
                return Err(OcfError::args("name 'elsewhere' does not exist on this node"));
            }
            Ok(name.to_owned())
        }
        fn monitor(&self, cfg: &String, _: &Ctx) -> Result<Status, OcfError> {
            if cfg == "panic" {
                panic!("boom");
            }
            Ok(if self.running.get() { Status::Running } else { Status::NotRunning })
        }
        fn start(&self, _: &String, _: &Ctx) -> Result<(), OcfError> {
            self.running.set(true);
            Ok(())
        }
        fn stop(&self, _: &String, _: &Ctx) -> Result<(), OcfError> {
            self.running.set(false);
            Ok(())
        }
        fn notify(&self, _: &String, _: &Ctx) -> Result<(), OcfError> {
            Err(OcfError::generic("peer unreachable"))
        }
    }

    fn call(agent: &Fake, action: Option<&str>, vars: &[(&str, &str)]) -> (u8, String, String) {
        let mut args = vec![OsString::from("fake")];
        args.extend(action.map(OsString::from));
        let vars = vars.iter().map(|(k, v)| (OsString::from(k), OsString::from(v)));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let rc = run(agent, args, vars, &mut out, &mut err);
        (rc, String::from_utf8(out).unwrap(), String::from_utf8(err).unwrap())
    }

    fn fake() -> Fake {
        Fake { running: Cell::new(false) }
    }

    fn last_line(s: &str) -> &str {
        s.lines().last().unwrap_or("")
    }

    const OK: &[(&str, &str)] = &[("OCF_RESKEY_name", "x")];

    #[test]
    fn unknown_or_missing_action_is_3_with_usage_and_reason() {
        let (rc, _, err) = call(&fake(), Some("frobnicate"), OK);
        assert_eq!(rc, 3);
        assert!(err.starts_with(
            "usage: fake {start|stop|monitor|notify|status|meta-data|validate-all|usage}"
        ));
        assert_eq!(last_line(&err), "ocf-exit-reason:unknown action 'frobnicate'");
        let (rc, _, err) = call(&fake(), None, OK);
        assert_eq!((rc, last_line(&err)), (3, "ocf-exit-reason:no action given"));
    }

    #[test]
    fn meta_data_needs_no_environment() {
        let (rc, out, _) = call(&fake(), Some("meta-data"), &[]);
        assert_eq!(rc, 0);
        assert!(out.contains("<resource-agent name=\"fake\""));
        let (rc, out, _) = call(&fake(), Some("help"), &[]);
        assert_eq!(rc, 0);
        assert!(out.starts_with("usage: fake"));
    }

    #[test]
    fn missing_required_parameter_is_6_with_reason() {
        for action in ["validate-all", "start"] {
            let (rc, _, err) = call(&fake(), Some(action), &[]);
            assert_eq!(rc, 6, "{action}");
            assert_eq!(last_line(&err), "ocf-exit-reason:required parameter 'name' is not set");
        }
    }

    #[test]
    fn custom_reason_prefix() {
        let (_, _, err) = call(&fake(), Some("start"), &[("OCF_EXIT_REASON_PREFIX", "REASON>")]);
        assert_eq!(last_line(&err), "REASON>required parameter 'name' is not set");
    }

    #[test]
    fn lifecycle_through_dispatch() {
        let f = fake();
        assert_eq!(call(&f, Some("monitor"), OK).0, 7);
        assert_eq!(call(&f, Some("start"), OK).0, 0);
        assert_eq!(call(&f, Some("status"), OK).0, 0);
        assert_eq!(call(&f, Some("stop"), OK).0, 0);
        assert_eq!(call(&f, Some("monitor"), OK).0, 7);
        assert_eq!(call(&f, Some("promote"), OK).0, 3);
    }

    #[test]
    fn probe_of_config_impossible_here_is_not_running() {
        let args = [("OCF_RESKEY_name", "elsewhere"), ("OCF_RESKEY_CRM_meta_interval", "0")];
        assert_eq!(call(&fake(), Some("monitor"), &args).0, 7);
        let recurring =
            [("OCF_RESKEY_name", "elsewhere"), ("OCF_RESKEY_CRM_meta_interval", "10000")];
        let (rc, _, err) = call(&fake(), Some("monitor"), &recurring);
        assert_eq!(rc, 2);
        assert_eq!(last_line(&err), "ocf-exit-reason:name 'elsewhere' does not exist on this node");
    }

    #[test]
    fn notify_never_fails() {
        assert_eq!(call(&fake(), Some("notify"), OK).0, 0);
        assert_eq!(call(&fake(), Some("notify"), &[]).0, 0, "even with an invalid configuration");
    }

    #[test]
    fn a_panic_is_exit_1_with_reason() {
        let (rc, _, err) = call(&fake(), Some("monitor"), &[("OCF_RESKEY_name", "panic")]);
        assert_eq!(rc, 1);
        assert_eq!(last_line(&err), "ocf-exit-reason:internal error in fake monitor: boom");
    }

    #[test]
    fn ctx_reads_metas() {
        let env = OcfEnv::from_pairs(&[
            ("OCF_RESOURCE_INSTANCE", "ip1"),
            ("OCF_RESKEY_CRM_meta_interval", "0"),
            ("OCF_RESKEY_CRM_meta_timeout", "5000"),
            ("OCF_CHECK_LEVEL", "10"),
        ]);
        let ctx = Ctx::new(&Fake::INFO, Action::Monitor, env);
        assert!(ctx.is_probe());
        assert_eq!(ctx.instance, "ip1");
        assert_eq!(ctx.timeout, Duration::from_secs(5));
        assert_eq!(ctx.check_level, 10);
        let ctx = Ctx::new(&Fake::INFO, Action::Notify, OcfEnv::default());
        assert_eq!(
            ctx.timeout,
            Duration::from_secs(5),
            "advertised timeout when Pacemaker gives none"
        );
        assert!(!ctx.is_probe());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A value for a variable Pacemaker fills with a number: any text, or any number.
        fn number_or_text() -> impl Strategy<Value = String> {
            prop_oneof![any::<String>(), any::<u64>().prop_map(|n| n.to_string()), "[0-9]{1,30}"]
        }

        const METAS: &[&str] = &[
            "OCF_RESKEY_CRM_meta_timeout",
            "OCF_RESKEY_CRM_meta_interval",
            "OCF_CHECK_LEVEL",
            "OCF_RESKEY_CRM_meta_clone_max",
            "OCF_RESKEY_CRM_meta_promoted_max",
            "OCF_RESKEY_CRM_meta_master_max",
            "OCF_RESKEY_CRM_meta_promotable",
            "OCF_RESKEY_CRM_meta_notify_active_resource",
            "OCF_RESKEY_CRM_meta_notify_active_uname",
            "OCF_RESOURCE_INSTANCE",
        ];

        proptest! {
            /// Whatever Pacemaker (or an operator's crm_resource --force-*) puts in the metas,
            /// the context is built: a panic here would escape as exit 101.
            #[test]
            fn any_metas_make_a_context(
                values in prop::collection::vec(number_or_text(), METAS.len()),
                kind in prop_oneof![Just("pre".to_owned()), Just("post".to_owned()), any::<String>()],
                op in prop_oneof![Just("promote".to_owned()), any::<String>()],
            ) {
                let mut pairs: Vec<(&str, &str)> =
                    METAS.iter().copied().zip(values.iter().map(String::as_str)).collect();
                pairs.push(("OCF_RESKEY_CRM_meta_notify_type", &kind));
                pairs.push(("OCF_RESKEY_CRM_meta_notify_operation", &op));
                let env = OcfEnv::from_pairs(&pairs);
                for action in [Action::Start, Action::Monitor, Action::Notify] {
                    let ctx = test_support::ctx_for(env.clone(), action);
                    let _ = (ctx.is_probe(), ctx.deadline.remaining(), ctx.deadline.expired());
                }
            }

            #[test]
            fn any_argv_is_an_action_or_refused(args in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..4)) {
                use std::os::unix::ffi::OsStringExt;
                let args: Vec<OsString> = args.into_iter().map(OsString::from_vec).collect();
                if let Ok(action) = Action::from_args(args) {
                    prop_assert_eq!(Action::parse(action.name()), Some(action));
                }
            }
        }
    }
}
