//! `ocf:ferroha:volume` — a DRBD (Linux) or HAST (FreeBSD) replicated volume as a promotable
//! clone, with the filesystem on it.
//!
//! start brings the resource up as secondary and waits (bounded) for the peer; promote refuses
//! without UpToDate data (DRBD) or with dirty extents (HAST), switches the role, runs fsck when
//! the filesystem needs it and mounts; demote unmounts (signalling only processes that use this
//! mount) and switches back to secondary; stop also takes the resource down. monitor reports 8
//! (primary, mounted), 0 (secondary) or 7 (down) and sets the promotion score from the disk and
//! peer state. Split brain is reported, never resolved: this agent never discards data.

pub mod drbd;
pub mod hast;
pub mod mounts;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ocf::{
    ActionSpec, Agent, AgentInfo, Ctx, Deadline, OcfCode, OcfError, Param, Role, Status, Values,
    exec,
};

use mounts::FsckMode;

/// Parameter names.
pub mod param {
    /// `drbd` or `hast`.
    pub const BACKEND: &str = "backend";
    /// The DRBD or HAST resource name.
    pub const RESOURCE: &str = "resource";
    /// The block device to mount.
    pub const DEVICE: &str = "device";
    /// Mount point.
    pub const DIRECTORY: &str = "directory";
    /// Filesystem type.
    pub const FSTYPE: &str = "fstype";
    /// Mount options.
    pub const OPTIONS: &str = "options";
    /// fsck policy.
    pub const RUN_FSCK: &str = "run_fsck";
    /// Seconds start waits for the peer.
    pub const WFC_TIMEOUT: &str = "wfc_timeout";
    /// Seconds between TERM and KILL on unmount.
    pub const KILL_GRACE: &str = "kill_grace";
    /// HAST: promote despite dirty extents.
    pub const FORCE_PROMOTE: &str = "force_promote";
    /// DRBD configuration file.
    pub const DRBDCONF: &str = "drbdconf";
    /// Where the last published score is kept.
    pub const STATE_DIR: &str = "state_dir";
}

const PARAMS: &[Param] = &[
    Param::select(param::BACKEND, &["drbd", "hast"]).default("drbd").desc(
        "Replication backend",
        "drbd (Linux, DRBD 8.4 or 9, driven through drbdadm) or hast (FreeBSD, driven through \
         hastctl).",
    ),
    Param::string(param::RESOURCE).required().unique().desc(
        "Resource name",
        "The DRBD resource (as in drbd.conf) or HAST resource (as in hast.conf). Letters, digits \
         and -%+./:=@_ only.",
    ),
    Param::string(param::DEVICE).desc(
        "Block device",
        "The replicated device to check and mount. Empty: what drbdadm sh-dev prints for DRBD, \
         /dev/hast/<resource> for HAST.",
    ),
    Param::string(param::DIRECTORY).desc(
        "Mount point",
        "Absolute path where the device is mounted on promote and unmounted on demote; created \
         if missing. Empty: the agent only switches roles (no fsck, no mount). Must not be /.",
    ),
    Param::string(param::FSTYPE).desc(
        "Filesystem type",
        "Passed to mount -t; required when directory is set (ext4, xfs, ufs, ...). zfs is \
         refused: a pool needs zpool import, not mount.",
    ),
    Param::string(param::OPTIONS)
        .desc("Mount options", "Passed to mount -o, e.g. noatime. No spaces."),
    Param::select(param::RUN_FSCK, &["auto", "force", "no"]).default("auto").desc(
        "fsck before mount",
        "auto: check ext2/ext3/ext4 (e2fsck -p) and ufs (fsck -t ufs -p) before mounting, \
         not xfs or btrfs; force: always (fsck -t <fstype> -p); no: never. An fsck exit code \
         of 4 or more fails the promote.",
    ),
    Param::integer(param::WFC_TIMEOUT, 0, 3600).default("10").desc(
        "Seconds start waits for the peer",
        "How long start waits for the connection to the peer (bounded by the start timeout). \
         When it does not come, start still succeeds (the peer may be down) and the promotion \
         score reflects the unknown peer.",
    ),
    Param::integer(param::KILL_GRACE, 1, 600).default("5").desc(
        "Seconds between TERM and KILL",
        "When the mount is busy on demote or stop, processes using this mount (and only those) \
         get SIGTERM, then SIGKILL after this many seconds if the mount is still busy.",
    ),
    Param::boolean(param::FORCE_PROMOTE).default("false").desc(
        "HAST: promote despite dirty data",
        "HAST only. Promote even when hastctl reports dirty (unsynchronised) extents. Data \
         written on the old primary and not yet replicated is then lost.",
    ),
    Param::string(param::DRBDCONF).desc(
        "DRBD configuration file",
        "DRBD only. Passed to drbdadm as -c. Empty: drbdadm's default (/etc/drbd.conf).",
    ),
    Param::string(param::STATE_DIR).default("/run/ferroha/volume").desc(
        "State directory",
        "Where the agent keeps the promotion score it last published, so that a monitor runs \
         crm_attribute only when the score changes (probes always publish). Belongs on a \
         tmpfs such as /run, wiped at boot like the score itself.",
    ),
];

const ACTIONS: &[ActionSpec] = &[
    ActionSpec::new("start", 240),
    ActionSpec::new("stop", 100),
    ActionSpec::new("promote", 90),
    ActionSpec::new("demote", 90),
    ActionSpec::new("notify", 90),
    ActionSpec::monitor(20, 20).role(Role::Unpromoted),
    ActionSpec::monitor(20, 10).role(Role::Promoted),
    ActionSpec::new("meta-data", 5),
    ActionSpec::new("validate-all", 30),
];

/// The agent.
#[derive(Debug, Default)]
pub struct Volume;

/// The replication backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// DRBD.
    Drbd,
    /// FreeBSD HAST.
    Hast,
}

/// The filesystem part of the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fs {
    /// Mount point.
    pub directory: String,
    /// Filesystem type.
    pub fstype: String,
    /// Mount options.
    pub options: Option<String>,
    /// fsck policy.
    pub fsck: FsckMode,
}

/// The validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Backend.
    pub backend: Backend,
    /// Resource name.
    pub resource: String,
    /// Device, when given.
    pub device: Option<String>,
    /// Filesystem, when a directory is given.
    pub fs: Option<Fs>,
    /// Wait for the peer on start.
    pub wfc: Duration,
    /// TERM→KILL grace.
    pub kill_grace: Duration,
    /// HAST: promote despite dirty data.
    pub force_promote: bool,
    /// drbdadm -c.
    pub drbdconf: Option<String>,
    /// Where the last published score is kept.
    pub state_dir: PathBuf,
}

/// The role of the local replica, backend-independent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Local {
    /// Not configured / not running.
    Down,
    /// Secondary.
    Secondary,
    /// Primary.
    Primary,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-%+./:=@_".contains(&b))
        && !s.starts_with('-')
}

/// Turn parameter values into a configuration (pure: no file or command is looked at).
pub fn config_from(v: &Values<'_>) -> Result<Config, OcfError> {
    let backend = match v.str(param::BACKEND) {
        Some("hast") => Backend::Hast,
        _ => Backend::Drbd,
    };
    let resource = v.str(param::RESOURCE).unwrap_or_default().to_owned();
    if !valid_name(&resource) {
        return Err(OcfError::configured(format!(
            "parameter 'resource': '{resource}' is not a valid resource name (letters, digits \
             and -%+./:=@_ only)"
        )));
    }
    let device = v.str(param::DEVICE).map(str::to_owned);
    if let Some(d) = &device
        && (!d.starts_with('/') || d.contains(char::is_whitespace))
    {
        return Err(OcfError::configured(format!(
            "parameter 'device': '{d}' is not an absolute device path"
        )));
    }
    let fs = match v.str(param::DIRECTORY) {
        None => None,
        Some(dir) => {
            let dir = dir.trim_end_matches('/');
            if dir.is_empty()
                || !dir.starts_with('/')
                || dir.contains("/../")
                || dir.ends_with("/..")
            {
                return Err(OcfError::configured(format!(
                    "parameter 'directory': '{dir}' must be an absolute path other than /"
                )));
            }
            let fstype = v.str(param::FSTYPE).ok_or_else(|| {
                OcfError::configured("parameter 'fstype' must be set when 'directory' is set")
            })?;
            if fstype == "zfs" {
                return Err(OcfError::configured(
                    "parameter 'fstype': zfs on a replicated volume needs zpool import, which this \
                     agent does not do",
                ));
            }
            if !fstype.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_') {
                return Err(OcfError::configured(format!(
                    "parameter 'fstype': '{fstype}' is not a filesystem type name"
                )));
            }
            let options = v.str(param::OPTIONS).map(str::to_owned);
            if options.as_deref().is_some_and(|o| o.contains(char::is_whitespace)) {
                return Err(OcfError::configured("parameter 'options' must not contain spaces"));
            }
            let fsck = match v.str(param::RUN_FSCK) {
                Some("force") => FsckMode::Force,
                Some("no") => FsckMode::No,
                _ => FsckMode::Auto,
            };
            Some(Fs { directory: dir.to_owned(), fstype: fstype.to_owned(), options, fsck })
        }
    };
    let secs = |name: &str, dflt: i64| {
        Duration::from_secs(u64::try_from(v.int(name).unwrap_or(dflt)).unwrap_or(0))
    };
    let drbdconf = v.str(param::DRBDCONF).map(str::to_owned);
    if backend == Backend::Hast && drbdconf.is_some() {
        return Err(OcfError::configured("parameter 'drbdconf' is for backend=drbd only"));
    }
    Ok(Config {
        backend,
        resource,
        device,
        fs,
        wfc: secs(param::WFC_TIMEOUT, 10),
        kill_grace: secs(param::KILL_GRACE, 5),
        force_promote: v.flag(param::FORCE_PROMOTE),
        drbdconf,
        state_dir: PathBuf::from(v.str(param::STATE_DIR).unwrap_or("/run/ferroha/volume")),
    })
}

/// Two primaries of one replicated volume with a local filesystem on it corrupt it, and two
/// instances on one node share one device: refuse such clone settings (drbd.ocf checks the same).
pub fn check_clone_meta(c: &ocf::CloneMeta) -> Result<(), OcfError> {
    if c.promoted_max.is_some_and(|n| n > 1) {
        return Err(OcfError::configured(
            "meta attribute promoted-max must be 1: two primaries of one volume with a local \
             filesystem would corrupt it",
        ));
    }
    if c.clone_node_max.is_some_and(|n| n > 1) {
        return Err(OcfError::configured(
            "meta attribute clone-node-max must be 1: one node holds one replica",
        ));
    }
    Ok(())
}

fn tool_err(what: String) -> impl FnOnce(exec::ExecError) -> OcfError {
    move |e| {
        let code = match e {
            exec::ExecError::NotFound { .. } => OcfCode::ErrInstalled,
            _ => OcfCode::ErrGeneric,
        };
        OcfError::new(code, format!("{what}: {e}")).with_source(e)
    }
}

/// What the backend reports.
#[derive(Clone, Debug)]
enum State {
    Drbd(Option<drbd::DrbdState>),
    Hast(Option<hast::HastResource>),
}

impl State {
    fn local(&self) -> Local {
        match self {
            State::Drbd(None) | State::Hast(None) => Local::Down,
            State::Drbd(Some(s)) => match s.role {
                drbd::Role::Primary => Local::Primary,
                _ => Local::Secondary,
            },
            State::Hast(Some(r)) => match r.role {
                hast::Role::Primary => Local::Primary,
                hast::Role::Secondary => Local::Secondary,
                hast::Role::Init | hast::Role::Unknown => Local::Down,
            },
        }
    }

    fn connected(&self) -> bool {
        match self {
            State::Drbd(s) => s.as_ref().is_some_and(drbd::DrbdState::all_connected),
            State::Hast(r) => r.as_ref().is_some_and(|r| r.status.as_deref() == Some("complete")),
        }
    }

    fn score(&self) -> drbd::ScoreAction {
        match self {
            State::Drbd(s) => drbd::score(s.as_ref()),
            State::Hast(r) => {
                hast::score(r.as_ref()).map_or(drbd::ScoreAction::Delete, drbd::ScoreAction::Set)
            }
        }
    }

    fn warning(&self, resource: &str) -> Option<String> {
        match self {
            State::Drbd(Some(s)) if s.standalone() => Some(format!(
                "DRBD resource {resource} is StandAlone ({}): not replicating, possibly after a \
                 split brain; this agent never discards data: resolve it by hand",
                s.summary()
            )),
            _ => None,
        }
    }
}

impl Config {
    fn drbdadm(&self, args: &[&str], deadline: &Deadline) -> Result<exec::Output, exec::ExecError> {
        exec::run("drbdadm", &self.drbd_args(args), deadline)
    }

    fn drbd_minor(&self, deadline: &Deadline) -> Result<u32, OcfError> {
        if let Some(m) = self.device.as_deref().and_then(drbd::minor_of_device) {
            return Ok(m);
        }
        let out = self.drbdadm(&["sh-minor", &self.resource], deadline).map_err(tool_err(
            format!("cannot find the minor of DRBD resource {}", self.resource),
        ))?;
        out.stdout.trim().parse().map_err(|_| {
            OcfError::generic(format!(
                "drbdadm sh-minor {} printed '{}', not a minor number",
                self.resource,
                out.stdout.trim()
            ))
        })
    }

    fn state(&self, deadline: &Deadline) -> Result<State, OcfError> {
        match self.backend {
            Backend::Drbd => {
                let Ok(proc_drbd) = std::fs::read_to_string("/proc/drbd") else {
                    return Ok(State::Drbd(None)); // module not loaded: nothing is up
                };
                match drbd::generation(&proc_drbd) {
                    Some(drbd::Generation::V9) => {
                        let out = exec::output(
                            "drbdsetup",
                            &["status", "--json", &self.resource],
                            deadline,
                        )
                        .map_err(tool_err("cannot read the DRBD state".into()))?;
                        if out.status.success() {
                            return drbd::parse_status_json(&out.stdout, &self.resource)
                                .map(State::Drbd)
                                .map_err(OcfError::generic);
                        }
                        // Older drbd-utils without --json: the event stream's initial dump.
                        let ev = exec::output(
                            "drbdsetup",
                            &["events2", "--now", &self.resource],
                            deadline,
                        )
                        .map_err(tool_err("cannot read the DRBD state".into()))?;
                        // Both failing means "No such resource": down.
                        Ok(State::Drbd(if ev.status.success() {
                            drbd::parse_events2(&ev.stdout, &self.resource)
                        } else {
                            None
                        }))
                    }
                    _ => {
                        let minor = self.drbd_minor(deadline)?;
                        Ok(State::Drbd(drbd::parse_proc_drbd(&proc_drbd, minor)))
                    }
                }
            }
            Backend::Hast => {
                let out = exec::output("hastctl", &["list", &self.resource], deadline)
                    .map_err(tool_err("cannot read the HAST state".into()))?;
                if !out.status.success() {
                    log::info!("hastctl list {}: {}", self.resource, out.stderr.trim());
                    return Ok(State::Hast(None)); // hastd not running
                }
                let r = hast::parse_list(&out.stdout).into_iter().find(|r| r.name == self.resource);
                Ok(State::Hast(r))
            }
        }
    }

    fn device(&self, deadline: &Deadline) -> Result<String, OcfError> {
        if let Some(d) = &self.device {
            return Ok(d.clone());
        }
        match self.backend {
            Backend::Hast => Ok(format!("/dev/hast/{}", self.resource)),
            Backend::Drbd => {
                let out = self
                    .drbdadm(&["sh-dev", &self.resource], deadline)
                    .map_err(tool_err(format!("cannot find the device of {}", self.resource)))?;
                Ok(out.stdout.trim().to_owned())
            }
        }
    }

    fn hastctl_role(&self, role: &str, deadline: &Deadline) -> Result<(), OcfError> {
        exec::run("hastctl", &["role", role, &self.resource], deadline)
            .map(|_| ())
            .map_err(tool_err(format!("hastctl role {role} {} failed", self.resource)))
    }

    fn up(&self, ctx: &Ctx) -> Result<(), OcfError> {
        match self.backend {
            Backend::Drbd => {
                if !Path::new("/proc/drbd").exists() {
                    exec::run("modprobe", &["drbd"], &ctx.deadline)
                        .map_err(tool_err("the drbd kernel module cannot be loaded".into()))?;
                }
                self.drbdadm(&["up", &self.resource], &ctx.deadline)
                    .map(|_| ())
                    .map_err(tool_err(format!("drbdadm up {} failed", self.resource)))
            }
            Backend::Hast => self.hastctl_role("secondary", &ctx.deadline),
        }
    }

    fn to_secondary(&self, ctx: &Ctx) -> Result<(), OcfError> {
        match self.backend {
            Backend::Drbd => self
                .drbdadm(&["secondary", &self.resource], &ctx.deadline)
                .map(|_| ())
                .map_err(tool_err(format!("drbdadm secondary {} failed", self.resource))),
            Backend::Hast => self.hastctl_role("secondary", &ctx.deadline),
        }
    }

    fn down(&self, ctx: &Ctx) -> Result<(), OcfError> {
        match self.backend {
            Backend::Drbd => self
                .drbdadm(&["down", &self.resource], &ctx.deadline)
                .map(|_| ())
                .map_err(tool_err(format!("drbdadm down {} failed", self.resource))),
            Backend::Hast => self.hastctl_role("init", &ctx.deadline),
        }
    }

    fn to_primary(&self, state: &State, ctx: &Ctx) -> Result<(), OcfError> {
        match (self.backend, state) {
            (Backend::Drbd, State::Drbd(Some(s))) => {
                drbd::promote_gate(&self.resource, s).map_err(OcfError::generic)?;
                let out = exec::output(
                    "drbdadm",
                    &self.drbd_args(&["primary", &self.resource]),
                    &ctx.deadline,
                )
                .map_err(tool_err(format!("drbdadm primary {} failed", self.resource)))?;
                match out.status.code() {
                    Some(0) => Ok(()),
                    Some(17) => Err(OcfError::generic(format!(
                        "DRBD refused to promote {} without access to UpToDate data (exit 17)",
                        self.resource
                    ))),
                    c => Err(OcfError::generic(format!(
                        "drbdadm primary {} failed (exit {}): {}",
                        self.resource,
                        c.map_or("signal".into(), |c| c.to_string()),
                        out.stderr
                            .lines()
                            .rev()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("")
                            .trim()
                    ))),
                }
            }
            (Backend::Hast, State::Hast(Some(r))) => {
                hast::promote_gate(r, self.force_promote).map_err(OcfError::generic)?;
                self.wait_hast_secondary_worker(ctx)?;
                self.hastctl_role("primary", &ctx.deadline)?;
                let dev = self.device(&ctx.deadline)?;
                ctx.deadline
                    .wait_for(Duration::from_millis(100), || Path::new(&dev).exists().then_some(()))
                    .ok_or_else(|| {
                        OcfError::generic(format!(
                            "{dev} did not appear after hastctl role primary"
                        ))
                    })
            }
            _ => Err(OcfError::new(
                OcfCode::NotRunning,
                format!("{} is not started; cannot promote", self.resource),
            )),
        }
    }

    fn drbd_args<'a>(&'a self, args: &[&'a str]) -> Vec<&'a str> {
        let mut all: Vec<&str> = Vec::new();
        if let Some(c) = &self.drbdconf {
            all.extend(["-c", c.as_str()]);
        }
        all.extend_from_slice(args);
        all
    }

    /// hastd keeps a secondary worker while the old primary's data still arrives; switching
    /// role under it is what the seed's carp-hast-switch waits for.
    fn wait_hast_secondary_worker(&self, ctx: &Ctx) -> Result<(), OcfError> {
        let pattern = hast::secondary_worker_pattern(&self.resource);
        let gone = ctx.deadline.wait_for(Duration::from_millis(500), || {
            match exec::output("pgrep", &["-f", &pattern], &ctx.deadline) {
                Ok(o) if o.status.code() == Some(1) => Some(()),
                Ok(_) => None,
                Err(e) => {
                    log::warn!("cannot look for the hastd secondary worker: {e}");
                    Some(())
                }
            }
        });
        gone.ok_or_else(|| {
            OcfError::generic(format!(
                "the hastd secondary worker of {} did not exit within the promote timeout",
                self.resource
            ))
        })
    }

    fn mounted(&self, deadline: &Deadline) -> Result<bool, OcfError> {
        let Some(fs) = &self.fs else { return Ok(true) };
        let table = mounts::read_table(deadline)?;
        Ok(mounts::mounted_on(&table, &fs.directory).is_some())
    }

    fn mount(&self, ctx: &Ctx) -> Result<(), OcfError> {
        let Some(fs) = &self.fs else { return Ok(()) };
        let table = mounts::read_table(&ctx.deadline)?;
        let dev = self.device(&ctx.deadline)?;
        if let Some(m) = mounts::mounted_on(&table, &fs.directory) {
            if m.source == dev {
                return Ok(());
            }
            return Err(OcfError::generic(format!(
                "{} is already mounted on {}; not mounting {dev} over it",
                m.source, fs.directory
            )));
        }
        ctx.deadline
            .wait_for(Duration::from_millis(100), || Path::new(&dev).exists().then_some(()))
            .ok_or_else(|| OcfError::generic(format!("device {dev} does not exist")))?;
        if mounts::needs_fsck(fs.fsck, &fs.fstype) {
            mounts::fsck(&fs.fstype, &dev, &ctx.deadline)?;
        }
        std::fs::create_dir_all(&fs.directory).map_err(|e| {
            OcfError::generic(format!("cannot create directory {}: {e}", fs.directory))
        })?;
        let mut args = vec!["-t", fs.fstype.as_str()];
        if let Some(o) = &fs.options {
            args.extend(["-o", o.as_str()]);
        }
        args.extend([dev.as_str(), fs.directory.as_str()]);
        exec::run("mount", &args, &ctx.deadline)
            .map(|_| ())
            .map_err(tool_err(format!("cannot mount {dev} on {}", fs.directory)))
    }

    fn unmount(&self, ctx: &Ctx) -> Result<(), OcfError> {
        let Some(fs) = &self.fs else { return Ok(()) };
        mounts::unmount(&fs.directory, self.kill_grace, &ctx.deadline)
    }

    fn scores(&self, ctx: &Ctx) -> ocf::score::Cached {
        ocf::score::Cached::new(&self.state_dir, &ctx.instance)
    }

    fn update_score(&self, state: &State, ctx: &Ctx) {
        match state.score() {
            drbd::ScoreAction::Set(n) => self.scores(ctx).publish(ctx, Some(n)),
            drbd::ScoreAction::Delete => self.scores(ctx).publish(ctx, None),
            drbd::ScoreAction::Keep => {}
        }
    }

    fn demote_now(&self, state: &State, ctx: &Ctx) -> Result<(), OcfError> {
        self.unmount(ctx)?;
        if state.local() == Local::Primary {
            self.to_secondary(ctx)?;
        }
        Ok(())
    }
}

impl Agent for Volume {
    type Config = Config;
    const INFO: AgentInfo = AgentInfo {
        name: "volume",
        version: env!("CARGO_PKG_VERSION"),
        shortdesc: "DRBD or HAST replicated volume with fsck and mount",
        longdesc: "Manages one DRBD (Linux, 8.4 or 9) or HAST (FreeBSD) replicated volume as a \
promotable clone, with the filesystem on it. start brings the resource up as secondary and waits \
a bounded time for the peer; promote refuses without UpToDate data (DRBD, and without quorum \
where DRBD 9 has it) or with dirty extents (HAST), switches the role, checks the filesystem \
(run_fsck) and mounts it on directory; demote unmounts, sending TERM and then KILL only to \
processes that use this mount, and switches to secondary; stop also takes the resource down. \
monitor reports 8 when primary (and mounted), 0 when secondary, 7 when down, and sets the \
promotion score from the disk and peer states (LINBIT drbd adjust_master_score semantics). A \
StandAlone resource (split brain) is logged with a reason and never resolved by discarding data.",
        params: PARAMS,
        actions: ACTIONS,
    };

    fn validate(&self, values: &Values<'_>, ctx: &Ctx) -> Result<Config, OcfError> {
        check_clone_meta(&ctx.clone)?;
        config_from(values)
    }

    fn monitor(&self, cfg: &Config, ctx: &Ctx) -> Result<Status, OcfError> {
        let state = cfg.state(&ctx.deadline)?;
        if let Some(w) = state.warning(&cfg.resource) {
            log::error!("{w}");
        }
        let local = state.local();
        if !(ctx.is_probe() && local == Local::Down) {
            cfg.update_score(&state, ctx);
        }
        match local {
            Local::Down => Ok(Status::NotRunning),
            Local::Secondary => Ok(Status::Running),
            Local::Primary => {
                if cfg.mounted(&ctx.deadline)? {
                    Ok(Status::Promoted)
                } else {
                    Err(OcfError::new(
                        OcfCode::FailedPromoted,
                        format!(
                            "{} is primary but {} is not mounted",
                            cfg.resource,
                            cfg.fs.as_ref().map_or("", |f| f.directory.as_str())
                        ),
                    ))
                }
            }
        }
    }

    fn start(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        let mut state = cfg.state(&ctx.deadline)?;
        if state.local() == Local::Down {
            cfg.up(ctx)?;
        } else if state.local() == Local::Primary {
            log::warn!("{} was primary at start; demoting it to secondary", cfg.resource);
            cfg.demote_now(&state, ctx)?;
        }
        let wfc = ctx.deadline.sub(cfg.wfc);
        let connected =
            wfc.wait_for(Duration::from_millis(200), || match cfg.state(&ctx.deadline) {
                Ok(s) if s.connected() => Some(Ok(s)),
                Ok(s) => {
                    state = s;
                    None
                }
                Err(e) => Some(Err(e)),
            });
        match connected {
            Some(s) => state = s?,
            None => log::warn!(
                "{} started without its peer within {} s; continuing",
                cfg.resource,
                cfg.wfc.as_secs()
            ),
        }
        if state.local() == Local::Down {
            return Err(OcfError::generic(format!(
                "{} is still down after being brought up",
                cfg.resource
            )));
        }
        if let Some(w) = state.warning(&cfg.resource) {
            log::error!("{w}");
        }
        cfg.update_score(&state, ctx);
        Ok(())
    }

    fn stop(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        let state = cfg.state(&ctx.deadline)?;
        cfg.unmount(ctx)?;
        if state.local() != Local::Down {
            if state.local() == Local::Primary {
                cfg.to_secondary(ctx)?;
            }
            cfg.down(ctx)?;
        }
        cfg.scores(ctx).publish(ctx, None);
        Ok(())
    }

    fn promote(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        let state = cfg.state(&ctx.deadline)?;
        if state.local() != Local::Primary {
            cfg.to_primary(&state, ctx)?;
        }
        cfg.mount(ctx)?;
        let state = cfg.state(&ctx.deadline)?;
        cfg.update_score(&state, ctx);
        Ok(())
    }

    fn demote(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        let state = cfg.state(&ctx.deadline)?;
        if state.local() == Local::Down {
            return Err(OcfError::new(
                OcfCode::NotRunning,
                format!("{} is not started; nothing to demote", cfg.resource),
            ));
        }
        cfg.demote_now(&state, ctx)?;
        let state = cfg.state(&ctx.deadline)?;
        cfg.update_score(&state, ctx);
        Ok(())
    }

    fn notify(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        let state = cfg.state(&ctx.deadline)?;
        if state.local() != Local::Down {
            cfg.update_score(&state, ctx);
        }
        Ok(())
    }

    /// A stop whose parameters do not validate: with a valid resource name, the resource is still
    /// taken down (a failed stop gets the node fenced); otherwise nothing can have been started.
    fn stop_invalid(&self, ctx: &Ctx, err: OcfError) -> Result<(), OcfError> {
        let res = ctx.env.param(param::RESOURCE).filter(|r| valid_name(r));
        let backend = ctx.env.param(param::BACKEND).unwrap_or("drbd");
        match (res, backend) {
            (Some(r), "drbd") if Path::new("/proc/drbd").exists() => {
                log::warn!("stop with an invalid configuration ({err}); taking {r} down anyway");
                exec::run("drbdadm", &["down", r], &ctx.deadline)
                    .map(|_| ())
                    .map_err(tool_err(format!("drbdadm down {r} failed")))
            }
            _ => {
                log::warn!("stop with an invalid configuration ({err}); nothing to stop");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::OcfEnv;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, OcfError> {
        let pairs: Vec<(String, &str)> =
            pairs.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), *v)).collect();
        let env = OcfEnv::from_pairs(&pairs);
        let values = Values::parse(PARAMS, &env)?;
        config_from(&values)
    }

    #[test]
    fn minimal_drbd() {
        let c = cfg(&[("resource", "r0")]).unwrap();
        assert_eq!(c.backend, Backend::Drbd);
        assert_eq!(c.fs, None);
        assert_eq!(c.wfc, Duration::from_secs(10));
    }

    #[test]
    fn full_filesystem() {
        let c = cfg(&[
            ("resource", "r0"),
            ("directory", "/srv/db/"),
            ("fstype", "ext4"),
            ("options", "noatime"),
            ("run_fsck", "no"),
        ])
        .unwrap();
        let fs = c.fs.unwrap();
        assert_eq!(fs.directory, "/srv/db");
        assert_eq!(fs.fsck, FsckMode::No);
        assert_eq!(fs.options.as_deref(), Some("noatime"));
    }

    fn reason(r: Result<Config, OcfError>) -> (u8, String) {
        let e = r.unwrap_err();
        (e.code().as_u8(), e.reason().to_owned())
    }

    #[test]
    fn bad_input_names_the_parameter() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[], "'resource'"),
            (&[("resource", "r0; rm")], "'resource'"),
            (&[("resource", "-x")], "'resource'"),
            (&[("resource", "r0"), ("backend", "zfs")], "'backend'"),
            (&[("resource", "r0"), ("directory", "/")], "'directory'"),
            (&[("resource", "r0"), ("directory", "srv")], "'directory'"),
            (&[("resource", "r0"), ("directory", "/srv")], "'fstype'"),
            (&[("resource", "r0"), ("directory", "/srv"), ("fstype", "zfs")], "'fstype'"),
            (&[("resource", "r0"), ("directory", "/srv"), ("fstype", "ext4 -o x")], "'fstype'"),
            (
                &[
                    ("resource", "r0"),
                    ("directory", "/srv"),
                    ("fstype", "ext4"),
                    ("options", "a b"),
                ],
                "'options'",
            ),
            (&[("resource", "r0"), ("run_fsck", "sometimes")], "'run_fsck'"),
            (&[("resource", "r0"), ("wfc_timeout", "-1")], "'wfc_timeout'"),
            (&[("resource", "r0"), ("device", "drbd0")], "'device'"),
            (&[("resource", "r0"), ("backend", "hast"), ("drbdconf", "/x")], "'drbdconf'"),
        ];
        for (pairs, name) in cases {
            let (code, text) = reason(cfg(pairs));
            assert_eq!(code, 6, "{pairs:?}: {text}");
            assert!(text.contains(name), "{pairs:?}: '{text}' should name {name}");
        }
    }

    #[test]
    fn state_roles_and_scores() {
        let s =
            drbd::parse_proc_drbd(include_str!("../tests/fixtures/proc_drbd_84_primary.txt"), 0);
        let st = State::Drbd(s);
        assert_eq!(st.local(), Local::Primary);
        assert!(st.connected());
        assert_eq!(st.score(), drbd::ScoreAction::Set(10000));
        assert_eq!(State::Drbd(None).local(), Local::Down);
        let h = hast::parse_list(include_str!("../tests/fixtures/hastctl_list_two.txt"));
        assert_eq!(State::Hast(Some(h[0].clone())).local(), Local::Secondary);
        assert!(!State::Hast(Some(h[0].clone())).connected(), "degraded");
        assert_eq!(State::Hast(Some(h[1].clone())).local(), Local::Down, "init");
        let sa =
            drbd::parse_proc_drbd(include_str!("../tests/fixtures/proc_drbd_84_standalone.txt"), 0);
        assert!(State::Drbd(sa).warning("r0").unwrap().contains("StandAlone"));
    }

    #[test]
    fn clone_meta_limits() {
        let meta = |pairs: &[(&str, &str)]| {
            let pairs: Vec<(String, &str)> =
                pairs.iter().map(|(k, v)| (format!("OCF_RESKEY_CRM_meta_{k}"), *v)).collect();
            ocf::CloneMeta::from_env(&OcfEnv::from_pairs(&pairs))
        };
        assert!(check_clone_meta(&meta(&[])).is_ok());
        assert!(check_clone_meta(&meta(&[("promoted_max", "1"), ("clone_max", "2")])).is_ok());
        let e = check_clone_meta(&meta(&[("promoted_max", "2")])).unwrap_err();
        assert_eq!(e.code(), OcfCode::ErrConfigured);
        assert!(e.reason().contains("promoted-max"));
        assert!(check_clone_meta(&meta(&[("master_max", "2")])).is_err());
        assert!(
            check_clone_meta(&meta(&[("clone_node_max", "2")]))
                .unwrap_err()
                .reason()
                .contains("clone-node-max")
        );
    }

    #[test]
    fn man_page_lists_every_parameter() {
        let page = ocf::doc::man_page(&Volume::INFO);
        for p in PARAMS {
            assert!(page.contains(p.name), "{}", p.name);
        }
    }

    #[test]
    fn docs_match_params() {
        let md = include_str!("../../../docs/agents/volume.md");
        if let Err(problems) = ocf::doc::check_docs(&Volume::INFO, md) {
            panic!("docs/agents/volume.md is out of sync with PARAMS:\n{problems}");
        }
    }
}
