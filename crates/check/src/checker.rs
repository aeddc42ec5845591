//! The [`Checker`] builder and the check sequence it runs.
//!
//! The sequence follows ocf-tester's (RA `tools/ocf-tester.in`) and adds the checks it lacks: role
//! reporting after promote/demote, required parameters, notify variables, exit reasons, timeouts,
//! schema validation against both schemas, and a clean environment per action. Steps that change the
//! resource's state abort the run when they fail, because later verdicts would be meaningless; a final
//! stop (after a demote, when the resource may be promoted) is then still attempted.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::exec::{self, Exit, Program};
use crate::metadata::{DEFAULT_TIMEOUT, Metadata};
use crate::reason::{EXIT_REASON_PREFIX, ExitReason, code_name, exit_reason, needs_exit_reason};
use crate::report::{Abort, Report, Status, Step};
use crate::schema::{self, Schema, Unavailable, chain};
use crate::sys;

/// `PATH` agents get unless the caller overrides it; also where xmllint and wrappers are looked up.
pub const DEFAULT_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";
/// `OCF_ROOT` agents get unless the caller overrides it.
pub const DEFAULT_OCF_ROOT: &str = "/usr/lib/ocf";
/// The DTD ocf-tester validates meta-data against (Debian package `resource-agents`).
pub const DTD_PATH: &str = "/usr/share/resource-agents/ra-api-1.dtd";
/// The RelaxNG schema resource-agents' own `make check` uses (Debian package `resource-agents`).
pub const RNG_PATH: &str = "/usr/share/resource-agents/metadata.rng";

/// Interval passed to recurring monitors, as ocf-tester does.
const MONITOR_INTERVAL_MS: u64 = 10_000;
/// How many stderr lines a failed step keeps.
const STDERR_TAIL_LINES: usize = 10;
/// `nobody:nogroup` on Debian, used if /etc/passwd has no `nobody` line.
const NOBODY_FALLBACK: (u32, u32) = (65_534, 65_534);
/// Notify lists Pacemaker fills in (`lib/pengine/pe_notif.c`), including the deprecated
/// master/slave names some agents still read.
const NOTIFY_LISTS: [&str; 9] =
    ["active", "start", "stop", "promote", "demote", "promoted", "unpromoted", "master", "slave"];

/// Builder for one check run against one agent executable.
///
/// Each action runs with a clean environment: `PATH` ([`DEFAULT_PATH`]), `OCF_ROOT`
/// ([`DEFAULT_OCF_ROOT`]), `OCF_RA_VERSION_MAJOR=1`, `OCF_RA_VERSION_MINOR=1`,
/// `OCF_RESOURCE_INSTANCE`, `OCF_RESOURCE_TYPE` (and `OCF_RESOURCE_PROVIDER` when the agent lives in
/// `…/resource.d/<provider>/`), `OCF_EXIT_REASON_PREFIX`, then [`Checker::env`] (which may override
/// any of these), then `OCF_RESKEY_<name>` for each [`Checker::param`], then the step's
/// `OCF_RESKEY_CRM_meta_timeout` and `OCF_RESKEY_CRM_meta_interval`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checker {
    agent: PathBuf,
    instance: String,
    params: BTreeMap<String, String>,
    env: BTreeMap<String, String>,
    absent: BTreeMap<String, String>,
    wrapper: Vec<String>,
    xmllint: bool,
}

impl Checker {
    /// A checker for the agent executable at `agent` (a relative path is taken from the current
    /// directory; agents run with `/` as their working directory).
    pub fn new(agent: impl Into<PathBuf>) -> Self {
        Self {
            agent: agent.into(),
            instance: "ferroha-check".to_owned(),
            params: BTreeMap::new(),
            env: BTreeMap::new(),
            absent: BTreeMap::new(),
            wrapper: Vec::new(),
            xmllint: true,
        }
    }

    /// Sets `OCF_RESOURCE_INSTANCE` (default `ferroha-check`).
    pub fn instance(mut self, name: &str) -> Self {
        name.clone_into(&mut self.instance);
        self
    }

    /// Adds a resource parameter, passed as `OCF_RESKEY_<name>`. Setting a name twice keeps the last.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.params.insert(name.to_owned(), value.to_owned());
        self
    }

    /// Adds an environment variable for every action (it may override the defaults, e.g. `PATH`).
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Adds an environment variable for the "software absent" steps only (the probe, and meta-data,
    /// which must not need the software either), e.g. a binary-path parameter pointing nowhere
    /// (`OCF_RESKEY_binary=/nonexistent/mysqld`). These are applied after `PATH=/nonexistent` and
    /// `OCF_TESTER_FAIL_HAVE_BINARY=1`, so they can override them.
    pub fn absent(mut self, key: &str, value: &str) -> Self {
        self.absent.insert(key.to_owned(), value.to_owned());
        self
    }

    /// Runs every action through this command prefix, e.g. `["ip", "netns", "exec", "ns1"]`. The
    /// prefix's program is looked up in the agents' `PATH` before the run, so it is still found
    /// when a step sets `PATH=/nonexistent`. Meta-data as `nobody` runs without the wrapper.
    pub fn wrapper(mut self, argv: &[&str]) -> Self {
        self.wrapper = argv.iter().map(|&a| a.to_owned()).collect();
        self
    }

    /// Turns schema validation with xmllint on (the default) or off. When on, a missing xmllint or
    /// schema file fails the check; when off, the two validation steps are reported as skipped.
    pub fn xmllint(mut self, on: bool) -> Self {
        self.xmllint = on;
        self
    }

    /// Runs the whole sequence. Never panics on agent misbehaviour and never hangs: each action is
    /// killed (with its process group) at twice its timeout.
    pub fn run(&self) -> Report {
        Session::new(self).run()
    }
}

/// Marker that the sequence was aborted; the reason is in [`Session::aborted`].
struct Halt;

/// One agent invocation to make.
struct Call<'a> {
    name: String,
    action: Option<&'a str>,
    expect: &'a [i32],
    interval_ms: u64,
    unset: Option<&'a str>,
    /// Step-specific variables, shown in the step's command.
    vars: Vec<(String, String)>,
    /// Step-specific variables too many to show; `hidden_note` stands in for them.
    hidden: Vec<(String, String)>,
    hidden_note: &'static str,
    absent: bool,
    as_nobody: bool,
}

impl<'a> Call<'a> {
    fn new(name: impl Into<String>, action: &'a str, expect: &'a [i32]) -> Self {
        Self {
            name: name.into(),
            action: Some(action),
            expect,
            interval_ms: 0,
            unset: None,
            vars: Vec::new(),
            hidden: Vec::new(),
            hidden_note: "",
            absent: false,
            as_nobody: false,
        }
    }

    fn monitor(name: impl Into<String>, expect: &'a [i32]) -> Self {
        Self { interval_ms: MONITOR_INTERVAL_MS, ..Self::new(name, "monitor", expect) }
    }

    fn probe(name: impl Into<String>, expect: &'a [i32]) -> Self {
        Self::new(name, "monitor", expect)
    }
}

/// What the sequence needs to know about a finished call.
struct Ran {
    index: usize,
    status: Status,
    /// Exited with an expected code (the step may still fail on reason or timing).
    rc_ok: bool,
    stdout: Vec<u8>,
}

struct Session<'c> {
    checker: &'c Checker,
    agent: PathBuf,
    /// Resolved wrapper argv (program looked up in the agents' PATH).
    wrapper: Vec<OsString>,
    steps: Vec<Step>,
    aborted: Option<Abort>,
    meta: Option<Metadata>,
    /// The main sequence issued a start, so the final cleanup must stop.
    started: bool,
    /// A promote was issued and not yet undone by a successful demote.
    maybe_promoted: bool,
}

impl<'c> Session<'c> {
    fn new(checker: &'c Checker) -> Self {
        let agent = if checker.agent.is_absolute() {
            checker.agent.clone()
        } else {
            std::env::current_dir().map(|d| d.join(&checker.agent)).unwrap_or(checker.agent.clone())
        };
        let path = checker.env.get("PATH").map_or(DEFAULT_PATH, String::as_str);
        let wrapper = checker
            .wrapper
            .iter()
            .enumerate()
            .map(|(i, arg)| match exec::resolve(arg, path) {
                Some(found) if i == 0 => found.into_os_string(),
                _ => arg.into(),
            })
            .collect();
        Self {
            checker,
            agent,
            wrapper,
            steps: Vec::new(),
            aborted: None,
            meta: None,
            started: false,
            maybe_promoted: false,
        }
    }

    fn run(mut self) -> Report {
        // The abort message is already recorded; the sequence just stops where it is.
        let _ = self.sequence();
        self.cleanup();
        Report {
            agent: self.agent,
            instance: self.checker.instance.clone(),
            params: self.checker.params.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            steps: self.steps,
            aborted: self.aborted,
            metadata: self.meta,
        }
    }

    fn sequence(&mut self) -> Result<(), Halt> {
        let xml = self.metadata()?;
        self.validate_xml(&xml, Schema::Dtd);
        self.validate_xml(&xml, Schema::RelaxNg);
        self.metadata_again("meta-data as nobody", true);
        self.metadata_again("meta-data (software absent)", false);

        self.call(Call::new("unknown action (frobnicate)", "frobnicate", &[3]));
        self.call(Call { action: None, ..Call::new("no action", "", &[3]) });
        self.required_parameters();

        let validate = self.call(Call::new("validate-all", "validate-all", &[0]));
        // rc 3 only means validate-all is missing (already a failure); anything else means the
        // configuration does not work, and every later step would just repeat that.
        if !validate.rc_ok && validate.status != Status::Exited(3) {
            return Err(self.halt(
                "validate-all failed with the given parameters; did you pass every required \
                 parameter (-o name=value)? The start/stop sequence was not run.",
            ));
        }
        self.initial_monitor()?;
        self.call(Call { absent: true, ..Call::probe("probe (software absent)", &[7, 5]) });

        self.started = true;
        self.must(Call::new("start", "start", &[0]))?;
        self.call(Call::monitor("monitor (started)", &[0]));
        self.call(Call::probe("probe (started)", &[0]));
        self.must(Call::new("start (again)", "start", &[0]))?;
        self.call(Call::monitor("monitor (started again)", &[0]));
        self.notify();
        if self.meta.as_ref().is_some_and(Metadata::is_promotable) {
            self.promote_demote()?;
        }
        self.must(Call::new("stop", "stop", &[0]))?;
        self.call(Call::monitor("monitor (stopped)", &[7]));
        self.must(Call::new("stop (again)", "stop", &[0]))?;
        self.call(Call::monitor("monitor (stopped again)", &[7]));
        self.must(Call::new("start (cycle 2)", "start", &[0]))?;
        self.must(Call::new("stop (cycle 2)", "stop", &[0]))?;
        Ok(())
    }

    /// Runs meta-data, parses it and keeps it for the rest of the run.
    fn metadata(&mut self) -> Result<String, Halt> {
        let ran = self.call(Call::new("meta-data", "meta-data", &[0]));
        if !ran.rc_ok {
            return Err(self.halt("meta-data failed, so nothing else can be checked."));
        }
        let xml = String::from_utf8_lossy(&ran.stdout).into_owned();
        let step = &mut self.steps[ran.index];
        match Metadata::parse(&xml) {
            Ok(meta) => {
                for problem in meta.problems() {
                    step.fail(problem);
                }
                // The call itself could only use the default timeout; now we know the real one.
                if let Some(limit) = meta.timeout("meta-data")
                    && step.duration > limit
                    && step.duration <= DEFAULT_TIMEOUT
                {
                    step.fail(format!(
                        "took {} ms, over the {} ms timeout meta-data advertises for meta-data",
                        step.duration.as_millis(),
                        limit.as_millis()
                    ));
                }
                self.meta = Some(meta);
                Ok(xml)
            }
            Err(err) => {
                let message = format!("meta-data is unusable: {}", chain(&err));
                step.fail(message.clone());
                Err(self.halt(format!("{message}; nothing else can be checked.")))
            }
        }
    }

    /// Meta-data must not need root (Pacemaker tools may run it unprivileged) nor the managed
    /// software (ocf-tester runs it with `OCF_TESTER_FAIL_HAVE_BINARY=1`).
    fn metadata_again(&mut self, name: &str, as_nobody: bool) {
        if as_nobody && !sys::is_root() {
            let mut step = Step::new(name, format!("{} meta-data", self.agent.display()), &[0]);
            step.skip("the checker is not running as root, so it cannot switch to nobody");
            self.steps.push(step);
            return;
        }
        let call = Call { as_nobody, absent: !as_nobody, ..Call::new(name, "meta-data", &[0]) };
        let ran = self.call(call);
        if ran.rc_ok
            && let Err(err) = Metadata::parse(&String::from_utf8_lossy(&ran.stdout))
        {
            self.steps[ran.index].fail(format!("meta-data is unusable: {}", chain(&err)));
        }
    }

    fn validate_xml(&mut self, xml: &str, schema: Schema) {
        let mut step = Step::new(schema.step(), schema.command(), &[0]);
        if !self.checker.xmllint {
            step.skip("schema validation turned off (--no-xmllint)");
            self.steps.push(step);
            return;
        }
        match schema::xmllint(xml, schema) {
            Ok(done) => {
                step.duration = done.elapsed;
                step.status = status(done.exit);
                step.stderr_tail = tail(&String::from_utf8_lossy(&done.stderr));
                if step.status != Status::Exited(0) {
                    step.fail(format!("meta-data does not validate against {}", schema.path()));
                }
            }
            Err(Unavailable::Exec(err)) => step.fail(chain(&Unavailable::Exec(err))),
            Err(missing) => step.fail(format!(
                "{missing}; install it or turn validation off explicitly with --no-xmllint"
            )),
        }
        self.steps.push(step);
    }

    /// Each required parameter, left out on its own, must make validate-all and start fail with
    /// OCF_ERR_CONFIGURED (6) and a reason.
    fn required_parameters(&mut self) {
        let required: Vec<String> = self
            .meta
            .as_ref()
            .map(|m| m.required_parameters().map(|p| p.name.clone()).collect())
            .unwrap_or_default();
        for param in &required {
            let unset = Some(param.as_str());
            self.call(Call {
                unset,
                ..Call::new(format!("validate-all without {param}"), "validate-all", &[6])
            });
            let start = self
                .call(Call { unset, ..Call::new(format!("start without {param}"), "start", &[6]) });
            // It claims to have started (or hung): undo with the same configuration, before the
            // initial monitor would mistake it for a resource that was running before the test.
            if matches!(start.status, Status::Exited(0) | Status::Killed) {
                self.call(Call {
                    unset,
                    ..Call::new(format!("stop without {param} (undo)"), "stop", &[0])
                });
            }
        }
    }

    fn initial_monitor(&mut self) -> Result<(), Halt> {
        let ran = self.call(Call::monitor("monitor (initial)", &[7]));
        if ran.rc_ok {
            return Ok(());
        }
        let message = match ran.status {
            Status::Exited(rc @ (0 | 8)) => format!(
                "the resource is already running (monitor rc={rc}) before the test. Stop it first; \
                 ferroha-check does not stop a resource it did not start."
            ),
            Status::Exited(rc) => format!(
                "the initial monitor returned rc={rc} ({}), so the resource's state is unknown. \
                 Make sure it is stopped and monitor returns 7 before running the check.",
                code_name(rc)
            ),
            _ => "the initial monitor did not finish, so the resource's state is unknown.".into(),
        };
        Err(self.halt(message))
    }

    fn notify(&mut self) {
        // PCMK: notify "must not fail"; 3 is acceptable only from an agent that never asked for it.
        let advertised = self.meta.as_ref().is_some_and(|m| m.advertises("notify"));
        let expect: &[i32] = if advertised { &[0] } else { &[0, 3] };
        let mut hidden = Vec::new();
        for list in NOTIFY_LISTS {
            for kind in ["resource", "uname"] {
                hidden.push((format!("OCF_RESKEY_CRM_meta_notify_{list}_{kind}"), String::new()));
            }
        }
        for name in ["inactive_resource", "available_uname", "all_uname"] {
            hidden.push((format!("OCF_RESKEY_CRM_meta_notify_{name}"), String::new()));
        }
        self.call(Call {
            vars: vec![
                ("OCF_RESKEY_CRM_meta_notify_type".into(), "post".into()),
                ("OCF_RESKEY_CRM_meta_notify_operation".into(), "start".into()),
            ],
            hidden,
            hidden_note: "OCF_RESKEY_CRM_meta_notify_*_{resource,uname}=''",
            ..Call::new("notify (post-start)", "notify", expect)
        });
    }

    /// ocf-tester never checks the role monitor reports; here monitor must say 8 when promoted.
    fn promote_demote(&mut self) -> Result<(), Halt> {
        self.maybe_promoted = true;
        self.must(Call::new("promote", "promote", &[0]))?;
        self.call(Call::monitor("monitor (promoted)", &[8]));
        self.must(Call::new("promote (again)", "promote", &[0]))?;
        self.call(Call::monitor("monitor (promoted again)", &[8]));
        self.must(Call::new("demote", "demote", &[0]))?;
        self.maybe_promoted = false;
        self.call(Call::monitor("monitor (demoted)", &[0]));
        self.must(Call::new("demote (again)", "demote", &[0]))?;
        self.call(Call::monitor("monitor (demoted again)", &[0]));
        Ok(())
    }

    /// Always leaves nothing running that this run started. Pacemaker never stops a promoted
    /// instance without demoting it first (and e.g. Stateful refuses to), so neither do we.
    fn cleanup(&mut self) {
        if !self.started {
            let mut step =
                Step::new("stop (final cleanup)", format!("{} stop", self.agent.display()), &[0]);
            step.skip("this run started nothing, so there is nothing to stop");
            self.steps.push(step);
            return;
        }
        if self.maybe_promoted {
            self.call(Call::new("demote (final cleanup)", "demote", &[0]));
        }
        self.call(Call::new("stop (final cleanup)", "stop", &[0]));
    }

    /// Like [`Session::call`], but a wrong exit code or a kill aborts the sequence: the step changes
    /// the resource's state, which is unknown afterwards.
    fn must(&mut self, call: Call<'_>) -> Result<Ran, Halt> {
        let ran = self.call(call);
        if ran.rc_ok {
            return Ok(ran);
        }
        let step = &self.steps[ran.index];
        let want: Vec<String> = step.expected.iter().map(i32::to_string).collect();
        let message = format!(
            "{:?} ended with rc={} (want {}), so the resource is in an unknown state; the \
             remaining steps were not run.",
            step.name,
            step.status,
            want.join("|")
        );
        Err(self.halt(message))
    }

    fn halt(&mut self, message: impl Into<String>) -> Halt {
        let after = self.steps.len().saturating_sub(1);
        self.aborted = Some(Abort { after, message: message.into() });
        Halt
    }

    /// Runs one agent action and records it as a step with every generic check applied: exit code,
    /// exit reason, timeout.
    fn call(&mut self, call: Call<'_>) -> Ran {
        let action = call.action.unwrap_or("");
        let timeout = match (&self.meta, call.action) {
            (Some(meta), Some(action)) => meta.timeout(action),
            _ => None,
        };
        let limit = timeout.unwrap_or(DEFAULT_TIMEOUT);
        let mut vars = vec![
            ("OCF_RESKEY_CRM_meta_timeout".to_owned(), limit.as_millis().to_string()),
            ("OCF_RESKEY_CRM_meta_interval".to_owned(), call.interval_ms.to_string()),
        ];
        vars.extend(call.vars.iter().cloned());
        if call.absent {
            vars.push(("PATH".into(), "/nonexistent".into()));
            vars.push(("OCF_TESTER_FAIL_HAVE_BINARY".into(), "1".into()));
            vars.extend(self.checker.absent.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let unset = call.unset.map(|p| format!("OCF_RESKEY_{p}"));
        let env = self.environment(&vars, &call.hidden, unset.as_deref());

        let mut argv: Vec<OsString> =
            if call.as_nobody { Vec::new() } else { self.wrapper.clone() };
        argv.push(self.agent.clone().into_os_string());
        argv.extend(call.action.map(OsString::from));
        let command = render(&argv, &vars, &call, unset.as_deref());
        let mut step = Step::new(call.name, command, call.expect);

        let user = call.as_nobody.then(nobody);
        let program = Program {
            argv: &argv,
            env: &env,
            stdin: None,
            kill_after: limit * 2,
            cwd: Path::new("/"),
            user,
        };
        let mut stdout = Vec::new();
        match exec::run(&program) {
            Err(err) => step.fail(format!("could not run the agent: {}", chain(&err))),
            Ok(done) => {
                step.status = status(done.exit);
                step.duration = done.elapsed;
                let stderr = String::from_utf8_lossy(&done.stderr);
                let prefix =
                    env.get("OCF_EXIT_REASON_PREFIX").map_or(EXIT_REASON_PREFIX, String::as_str);
                check(&mut step, &stderr, prefix, action, limit, timeout.is_some());
                step.stderr_tail = tail(&stderr);
                stdout = done.stdout;
            }
        }
        let rc_ok = step.rc().is_some_and(|rc| step.expected.contains(&rc));
        let status = step.status;
        self.steps.push(step);
        Ran { index: self.steps.len() - 1, status, rc_ok, stdout }
    }

    fn environment(
        &self,
        vars: &[(String, String)],
        hidden: &[(String, String)],
        unset: Option<&str>,
    ) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        let mut set = |k: &str, v: &str| env.insert(k.to_owned(), v.to_owned());
        set("PATH", DEFAULT_PATH);
        set("OCF_ROOT", DEFAULT_OCF_ROOT);
        // Pacemaker sets these; without them ocf-shellfuncs treats the call as an init script.
        set("OCF_RA_VERSION_MAJOR", "1");
        set("OCF_RA_VERSION_MINOR", "1");
        set("OCF_RESOURCE_INSTANCE", &self.checker.instance);
        set("OCF_EXIT_REASON_PREFIX", EXIT_REASON_PREFIX);
        if let Some(kind) = self.agent.file_name().and_then(|n| n.to_str()) {
            set("OCF_RESOURCE_TYPE", kind);
        }
        if let Some(provider) = provider(&self.agent) {
            set("OCF_RESOURCE_PROVIDER", provider);
        }
        env.extend(self.checker.env.iter().map(|(k, v)| (k.clone(), v.clone())));
        for (name, value) in &self.checker.params {
            env.insert(format!("OCF_RESKEY_{name}"), value.clone());
        }
        if let Some(key) = unset {
            env.remove(key);
        }
        env.extend(hidden.iter().chain(vars).cloned());
        env
    }
}

/// Applies the checks every agent run gets: exit code, exit reason and timeout.
fn check(
    step: &mut Step,
    stderr: &str,
    prefix: &str,
    action: &str,
    limit: Duration,
    advertised: bool,
) {
    let found = exit_reason(stderr, prefix);
    if let ExitReason::Found(text) | ExitReason::NotLast(text) = found {
        step.exit_reason = Some(text.to_owned());
    }
    let ms = step.duration.as_millis();
    match step.status {
        Status::Killed => step.fail(format!(
            "killed after {ms} ms: no exit within twice the {} ms timeout",
            limit.as_millis()
        )),
        Status::Signalled(signal) => step.fail(format!("terminated by signal {signal}")),
        Status::NotRun => {}
        Status::Exited(rc) => {
            if !step.expected.contains(&rc) {
                let want: Vec<String> =
                    step.expected.iter().map(|c| format!("{c} ({})", code_name(*c))).collect();
                step.fail(format!("rc {rc} ({}), want {}", code_name(rc), want.join(" or ")));
            }
            if needs_exit_reason(rc) {
                match found {
                    ExitReason::Found(_) => {}
                    ExitReason::Empty => step.fail(format!(
                        "rc {rc} needs an exit reason, but the {prefix:?} line has no text"
                    )),
                    ExitReason::NotLast(text) => step.fail(format!(
                        "rc {rc} needs an exit reason as the last stderr line, but \
                         \"{prefix}{text}\" is followed by other output (Pacemaker would still \
                         show it)"
                    )),
                    ExitReason::Missing => step.fail(format!(
                        "rc {rc} needs an exit reason, but no stderr line starts with {prefix:?}"
                    )),
                }
            }
        }
    }
    if step.duration > limit && step.status != Status::Killed {
        let source = if advertised {
            format!("meta-data advertises for {action}")
        } else {
            format!(
                "default ({} is not advertised)",
                if action.is_empty() { "<none>" } else { action }
            )
        };
        step.fail(format!("took {ms} ms, over the {} ms timeout {source}", limit.as_millis()));
    }
}

fn status(exit: Exit) -> Status {
    match exit {
        Exit::Code(rc) => Status::Exited(rc),
        Exit::Signal(signal) => Status::Signalled(signal),
        Exit::Killed => Status::Killed,
    }
}

/// `…/resource.d/<provider>/<type>` → `<provider>`.
fn provider(agent: &Path) -> Option<&str> {
    let dir = agent.parent()?;
    let root = dir.parent()?;
    if root.file_name()? == "resource.d" { dir.file_name()?.to_str() } else { None }
}

/// `nobody`'s uid and gid from /etc/passwd.
fn nobody() -> (u32, u32) {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|line| {
            let mut fields = line.split(':');
            if fields.next()? != "nobody" {
                return None;
            }
            let _password = fields.next()?;
            Some((fields.next()?.parse().ok()?, fields.next()?.parse().ok()?))
        })
        .unwrap_or(NOBODY_FALLBACK)
}

/// A copy-pasteable rendering: `env [-u VAR] K=V… [wrapper…] agent action`.
fn render(
    argv: &[OsString],
    vars: &[(String, String)],
    call: &Call<'_>,
    unset: Option<&str>,
) -> String {
    let mut words = Vec::new();
    if call.as_nobody {
        words.push("setpriv --reuid=nobody --regid=nogroup --clear-groups".to_owned());
    }
    words.push("env".to_owned());
    if let Some(key) = unset {
        words.push(format!("-u {key}"));
    }
    words.extend(vars.iter().map(|(k, v)| format!("{k}={}", quote(v))));
    if !call.hidden.is_empty() {
        words.push(call.hidden_note.to_owned());
    }
    words.extend(argv.iter().map(|a| quote(&a.to_string_lossy())));
    words.join(" ")
}

/// Shell-quotes a word when it needs it.
fn quote(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:=,@%+".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

fn tail(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(STDERR_TAIL_LINES);
    lines[start..].iter().map(|l| (*l).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Outcome;

    #[test]
    fn quoting() {
        assert_eq!(quote("/usr/lib/ocf"), "/usr/lib/ocf");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn provider_from_path() {
        assert_eq!(provider(Path::new("/usr/lib/ocf/resource.d/ferroha/vip")), Some("ferroha"));
        assert_eq!(provider(Path::new("/work/target/debug/vip")), None);
    }

    #[test]
    fn stderr_tail_keeps_last_lines() {
        let text: String = (1..=15).map(|i| format!("line {i}\n")).collect();
        let kept = tail(&text);
        assert_eq!(kept.len(), STDERR_TAIL_LINES);
        assert_eq!(kept.first().map(String::as_str), Some("line 6"));
        assert_eq!(kept.last().map(String::as_str), Some("line 15"));
    }

    #[test]
    fn generic_checks() {
        let limit = Duration::from_secs(20);
        let mut step = Step::new("validate-all without ip", "x", &[6]);
        step.status = Status::Exited(1);
        check(&mut step, "oops\n", EXIT_REASON_PREFIX, "validate-all", limit, true);
        assert_eq!(step.outcome, Outcome::Fail);
        assert_eq!(
            step.problems,
            [
                "rc 1 (OCF_ERR_GENERIC), want 6 (OCF_ERR_CONFIGURED)",
                "rc 1 needs an exit reason, but no stderr line starts with \"ocf-exit-reason:\"",
            ]
        );

        let mut step = Step::new("monitor (stopped)", "x", &[7]);
        step.status = Status::Exited(7);
        step.duration = Duration::from_millis(20_001);
        check(&mut step, "", EXIT_REASON_PREFIX, "monitor", limit, false);
        assert_eq!(
            step.problems,
            ["took 20001 ms, over the 20000 ms timeout default (monitor is not advertised)"]
        );

        let mut step = Step::new("start without ip", "x", &[6]);
        step.status = Status::Exited(6);
        check(
            &mut step,
            "ocf-exit-reason:ip is required\n",
            EXIT_REASON_PREFIX,
            "start",
            limit,
            true,
        );
        assert_eq!(step.outcome, Outcome::Pass, "{:?}", step.problems);
        assert_eq!(step.exit_reason.as_deref(), Some("ip is required"));
    }
}
