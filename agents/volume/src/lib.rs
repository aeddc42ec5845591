//! `ocf:ferroha:volume` — a DRBD (Linux) or HAST (FreeBSD) replicated volume as a promotable
//! clone, with the filesystem on it.
//!
//! start brings the resource up as secondary and waits (bounded) for the peer; promote refuses
//! without UpToDate data (DRBD) or with dirty extents (HAST), switches the role, runs fsck when
//! the filesystem needs it and mounts; demote unmounts (signalling only processes that use this
//! mount) and switches back to secondary; stop also takes the resource down. monitor reports 8
//! (primary, mounted), 0 (secondary) or 7 (down) and sets the promotion score from the disk and
//! peer state. Split brain is reported, never resolved: this agent never discards data.

mod drbd;
mod hast;
mod minor_cache;
mod mounts;
mod replica;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ocf::score::Publisher;
use ocf::{
    ActionSpec, Agent, AgentInfo, Context, Ctx, Deadline, MetaRole, OcfCode, OcfError, Param,
    Status, Values, exec,
};

use drbd::Drbd;
use hast::Hast;
use mounts::FsckMode;
use replica::{LocalRole, Replica, ScoreAction, State};

pub(crate) const BACKEND: Param = Param::select("backend", &["drbd", "hast"]).default("drbd").desc(
    "Replication backend",
    "drbd (Linux, DRBD 8.4 or 9, driven through drbdadm) or hast (FreeBSD, driven through \
     hastctl).",
);
pub(crate) const RESOURCE: Param = Param::string("resource").required().unique().desc(
    "Resource name",
    "The DRBD resource (as in drbd.conf) or HAST resource (as in hast.conf). Letters, digits \
     and -%+./:=@_ only.",
);
pub(crate) const DEVICE: Param = Param::string("device").desc(
    "Block device",
    "The replicated device to check and mount. Empty: what drbdadm sh-dev prints for DRBD, \
     /dev/hast/<resource> for HAST.",
);
pub(crate) const DIRECTORY: Param = Param::string("directory").desc(
    "Mount point",
    "Absolute path where the device is mounted on promote and unmounted on demote; created \
     if missing. Empty: the agent only switches roles (no fsck, no mount). Must not be /.",
);
pub(crate) const FSTYPE: Param = Param::string("fstype").desc(
    "Filesystem type",
    "Passed to mount -t; required when directory is set (ext4, xfs, ufs, ...). zfs is \
     refused: a pool needs zpool import, not mount.",
);
pub(crate) const OPTIONS: Param =
    Param::string("options").desc("Mount options", "Passed to mount -o, e.g. noatime. No spaces.");
pub(crate) const RUN_FSCK: Param =
    Param::select("run_fsck", &["auto", "force", "no"]).default("auto").desc(
        "fsck before mount",
        "auto: check ext2/ext3/ext4 (e2fsck -p) and ufs (fsck -t ufs -p) before mounting, \
     not xfs or btrfs; force: always (fsck -t <fstype> -p); no: never. An fsck exit code \
     of 4 or more fails the promote.",
    );
pub(crate) const WFC_TIMEOUT: Param = Param::integer("wfc_timeout", 0, 3600).default("10").desc(
    "Seconds start waits for the peer",
    "How long start waits for the connection to the peer (bounded by the start timeout). \
     When it does not come, start still succeeds (the peer may be down) and the promotion \
     score reflects the unknown peer.",
);
pub(crate) const KILL_GRACE: Param = Param::integer("kill_grace", 1, 600).default("5").desc(
    "Seconds between TERM and KILL",
    "When the mount is busy on demote or stop, processes using this mount (and only those) \
     get SIGTERM, then SIGKILL after this many seconds if the mount is still busy.",
);
pub(crate) const FORCE_PROMOTE: Param = Param::boolean("force_promote").default("false").desc(
    "HAST: promote despite dirty data",
    "HAST only. Promote even when hastctl reports dirty (unsynchronised) extents. Data \
     written on the old primary and not yet replicated is then lost.",
);
pub(crate) const DRBDCONF: Param = Param::string("drbdconf").desc(
    "DRBD configuration file",
    "DRBD only. Passed to drbdadm as -c. Empty: drbdadm's default (/etc/drbd.conf).",
);
pub(crate) const STATE_DIR: Param = Param::string("state_dir").default("/run/ferroha/volume").desc(
    "State directory",
    "Where the agent keeps the promotion score it last published, so that a monitor runs \
     crm_attribute only when the score changes (probes always publish), and, for DRBD 8.4 \
     without device, the resource's minor with a fingerprint of the DRBD configuration \
     files (<resource>.drbd-minor), so that drbdadm sh-minor runs only after the \
     configuration changed. Belongs on a tmpfs such as /run, wiped at boot like the score \
     itself.",
);

const PARAMS: &[Param] = &[
    BACKEND,
    RESOURCE,
    DEVICE,
    DIRECTORY,
    FSTYPE,
    OPTIONS,
    RUN_FSCK,
    WFC_TIMEOUT,
    KILL_GRACE,
    FORCE_PROMOTE,
    DRBDCONF,
    STATE_DIR,
];

const ACTIONS: &[ActionSpec] = &[
    ActionSpec::new("start", 240),
    ActionSpec::new("stop", 100),
    ActionSpec::new("promote", 90),
    ActionSpec::new("demote", 90),
    ActionSpec::new("notify", 90),
    ActionSpec::monitor(20, 20).role(MetaRole::Unpromoted),
    ActionSpec::monitor(20, 10).role(MetaRole::Promoted),
    ActionSpec::new("meta-data", 5),
    ActionSpec::new("validate-all", 30),
];

/// The agent.
#[derive(Debug, Default)]
pub struct Volume;

/// The validated configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    backend: Backend,
    /// Filesystem, when a directory is given.
    fs: Option<Fs>,
    /// Wait for the peer on start.
    wfc: Duration,
    /// TERM→KILL grace.
    kill_grace: Duration,
    /// Where the last published score is kept.
    state_dir: PathBuf,
}

/// The replication backend.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Backend {
    Drbd(Drbd),
    Hast(Hast),
}

/// The filesystem part of the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Fs {
    directory: String,
    fstype: String,
    options: Option<String>,
    fsck: FsckMode,
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
        let state = cfg.replica().state(&ctx.deadline)?;
        if let Some(w) = state.warning.as_deref() {
            log::error!("{w}");
        }
        let local = state.role;
        if !(ctx.is_probe() && local == LocalRole::Down) {
            cfg.update_score(&state, ctx);
        }
        match local {
            LocalRole::Down => Ok(Status::NotRunning),
            LocalRole::Secondary => Ok(Status::Running),
            LocalRole::Primary => {
                if cfg.mounted(&ctx.deadline)? {
                    Ok(Status::Promoted)
                } else {
                    Err(OcfError::new(
                        OcfCode::FailedPromoted,
                        format!(
                            "{} is primary but {} is not mounted",
                            cfg.replica().resource(),
                            cfg.fs.as_ref().map_or("", |f| f.directory.as_str())
                        ),
                    ))
                }
            }
        }
    }

    fn start(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        let mut state = cfg.replica().state(&ctx.deadline)?;
        if state.role == LocalRole::Down {
            cfg.replica().up(&ctx.deadline)?;
        } else if state.role == LocalRole::Primary {
            log::warn!(
                "{} was primary at start; demoting it to secondary",
                cfg.replica().resource()
            );
            cfg.demote_now(&state, ctx)?;
        }
        let wfc = ctx.deadline.sub(cfg.wfc);
        let connected =
            wfc.wait_for(Duration::from_millis(200), || match cfg.replica().state(&ctx.deadline) {
                Ok(s) if s.connected => Some(Ok(s)),
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
                cfg.replica().resource(),
                cfg.wfc.as_secs()
            ),
        }
        if state.role == LocalRole::Down {
            return Err(OcfError::generic(format!(
                "{} is still down after being brought up",
                cfg.replica().resource()
            )));
        }
        if let Some(w) = state.warning.as_deref() {
            log::error!("{w}");
        }
        cfg.update_score(&state, ctx);
        Ok(())
    }

    fn stop(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        let state = cfg.replica().state(&ctx.deadline)?;
        cfg.unmount(ctx)?;
        if state.role != LocalRole::Down {
            if state.role == LocalRole::Primary {
                cfg.replica().to_secondary(&ctx.deadline)?;
            }
            cfg.replica().down(&ctx.deadline)?;
        }
        cfg.scores(ctx).publish(ctx, None);
        Ok(())
    }

    fn promote(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        let state = cfg.replica().state(&ctx.deadline)?;
        if state.role != LocalRole::Primary {
            cfg.replica().to_primary(&ctx.deadline)?;
        }
        cfg.mount(ctx)?;
        let state = cfg.replica().state(&ctx.deadline)?;
        cfg.update_score(&state, ctx);
        Ok(())
    }

    fn demote(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        let state = cfg.replica().state(&ctx.deadline)?;
        if state.role == LocalRole::Down {
            return Err(OcfError::new(
                OcfCode::NotRunning,
                format!("{} is not started; nothing to demote", cfg.replica().resource()),
            ));
        }
        cfg.demote_now(&state, ctx)?;
        let state = cfg.replica().state(&ctx.deadline)?;
        cfg.update_score(&state, ctx);
        Ok(())
    }

    fn notify(&self, cfg: &Config, ctx: &Ctx) -> Result<(), OcfError> {
        let state = cfg.replica().state(&ctx.deadline)?;
        if state.role != LocalRole::Down {
            cfg.update_score(&state, ctx);
        }
        Ok(())
    }

    /// A stop whose parameters do not validate: with a valid resource name, the resource is still
    /// taken down (a failed stop gets the node fenced); otherwise nothing can have been started.
    fn stop_invalid(&self, v: &Values<'_>, ctx: &Ctx, err: OcfError) -> Result<(), OcfError> {
        let res = v.opt_str(&RESOURCE).filter(|r| valid_name(r));
        let backend = v.str(&BACKEND);
        match (res.map(|r| drbd::backend(r, None, None)), backend) {
            (Some(d), "drbd") if d.loaded() => {
                log::warn!(
                    "stop with an invalid configuration ({err}); taking {} down anyway",
                    d.resource
                );
                d.down(&ctx.deadline)
            }
            _ => {
                log::warn!("stop with an invalid configuration ({err}); nothing to stop");
                Ok(())
            }
        }
    }
}

impl Config {
    /// The one place the backend is chosen.
    fn replica(&self) -> &dyn Replica {
        match &self.backend {
            Backend::Drbd(d) => d,
            Backend::Hast(h) => h,
        }
    }

    fn mounted(&self, deadline: &Deadline) -> Result<bool, OcfError> {
        let Some(fs) = &self.fs else { return Ok(true) };
        let table = mounts::read_table(deadline)?;
        Ok(mounts::mounted_on(&table, &fs.directory).is_some())
    }

    fn mount(&self, ctx: &Ctx) -> Result<(), OcfError> {
        let Some(fs) = &self.fs else { return Ok(()) };
        let table = mounts::read_table(&ctx.deadline)?;
        let dev = self.replica().device(&ctx.deadline)?;
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
            .with_context(|| format!("cannot mount {dev} on {}", fs.directory))
    }

    fn unmount(&self, ctx: &Ctx) -> Result<(), OcfError> {
        let Some(fs) = &self.fs else { return Ok(()) };
        mounts::unmount(&fs.directory, self.kill_grace, &ctx.deadline)
    }

    fn scores(&self, ctx: &Ctx) -> Publisher {
        Publisher::cached(&self.state_dir, &ctx.instance)
    }

    fn update_score(&self, state: &State, ctx: &Ctx) {
        match state.score {
            ScoreAction::Set(n) => self.scores(ctx).publish(ctx, Some(n)),
            ScoreAction::Delete => self.scores(ctx).publish(ctx, None),
            ScoreAction::Keep => {}
        }
    }

    fn demote_now(&self, state: &State, ctx: &Ctx) -> Result<(), OcfError> {
        self.unmount(ctx)?;
        if state.role == LocalRole::Primary {
            self.replica().to_secondary(&ctx.deadline)?;
        }
        Ok(())
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-%+./:=@_".contains(&b))
        && !s.starts_with('-')
}

/// Turn parameter values into a configuration (pure: no file or command is looked at).
fn config_from(v: &Values<'_>) -> Result<Config, OcfError> {
    let resource = v.str(&RESOURCE).to_owned();
    if !valid_name(&resource) {
        return Err(OcfError::configured(format!(
            "parameter 'resource': '{resource}' is not a valid resource name (letters, digits \
             and -%+./:=@_ only)"
        )));
    }
    let device = v.opt_str(&DEVICE).map(str::to_owned);
    if let Some(d) = &device
        && (!d.starts_with('/') || d.contains(char::is_whitespace))
    {
        return Err(OcfError::configured(format!(
            "parameter 'device': '{d}' is not an absolute device path"
        )));
    }
    let fs = match v.opt_str(&DIRECTORY) {
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
            let fstype = v.opt_str(&FSTYPE).ok_or_else(|| {
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
            let options = v.opt_str(&OPTIONS).map(str::to_owned);
            if options.as_deref().is_some_and(|o| o.contains(char::is_whitespace)) {
                return Err(OcfError::configured("parameter 'options' must not contain spaces"));
            }
            let fsck = match v.str(&RUN_FSCK) {
                "force" => FsckMode::Force,
                "no" => FsckMode::No,
                _ => FsckMode::Auto,
            };
            Some(Fs { directory: dir.to_owned(), fstype: fstype.to_owned(), options, fsck })
        }
    };
    let drbdconf = v.opt_str(&DRBDCONF).map(str::to_owned);
    let state_dir = PathBuf::from(v.str(&STATE_DIR));
    let backend = match v.str(&BACKEND) {
        "hast" if drbdconf.is_some() => {
            return Err(OcfError::configured("parameter 'drbdconf' is for backend=drbd only"));
        }
        "hast" => Backend::Hast(Hast { resource, device, force_promote: v.flag(&FORCE_PROMOTE) }),
        _ => {
            let mut d = drbd::backend(&resource, device, drbdconf);
            d.minor_cache = Some(state_dir.join(format!("{resource}.drbd-minor")));
            Backend::Drbd(d)
        }
    };
    Ok(Config {
        backend,
        fs,
        wfc: v.secs(&WFC_TIMEOUT),
        kill_grace: v.secs(&KILL_GRACE),
        state_dir,
    })
}

/// Two primaries of one replicated volume with a local filesystem on it corrupt it, and two
/// instances on one node share one device: refuse such clone settings (drbd.ocf checks the same).
fn check_clone_meta(c: &ocf::CloneMeta) -> Result<(), OcfError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use ocf::OcfEnv;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, OcfError> {
        let env = OcfEnv::from_params(pairs);
        let values = Values::parse(PARAMS, &env)?;
        config_from(&values)
    }

    #[test]
    fn minimal_drbd() {
        let c = cfg(&[("resource", "r0")]).unwrap();
        let mut want = drbd::backend("r0", None, None);
        want.minor_cache = Some("/run/ferroha/volume/r0.drbd-minor".into());
        assert_eq!(c.backend, Backend::Drbd(want));
        assert_eq!(c.replica().resource(), "r0");
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
    fn states_of_both_backends() {
        let pri =
            drbd::parse_proc_drbd(include_str!("../tests/fixtures/proc_drbd_84_primary.txt"), 0);
        let st = drbd::observe("r0", pri.as_ref());
        assert_eq!((st.role, st.connected), (LocalRole::Primary, true));
        assert_eq!(st.score, ScoreAction::Set(10000));
        assert_eq!(drbd::observe("r0", None), State::DOWN);
        let h = hast::parse_list(include_str!("../tests/fixtures/hastctl_list_two.txt"));
        let secondary = hast::observe(Some(&h[0]));
        assert_eq!(secondary.role, LocalRole::Secondary);
        assert!(!secondary.connected, "degraded");
        assert_eq!(hast::observe(Some(&h[1])).role, LocalRole::Down, "init");
        let sa =
            drbd::parse_proc_drbd(include_str!("../tests/fixtures/proc_drbd_84_standalone.txt"), 0);
        assert!(drbd::observe("r0", sa.as_ref()).warning.unwrap().contains("StandAlone"));
    }

    /// The DRBD state path with the module's /proc file injected: absent (module not loaded)
    /// is down, a loaded 8.4 module is read for the configured device's minor. No tool runs.
    #[test]
    fn drbd_state_from_an_injected_proc_file() {
        let deadline = Deadline::after(Duration::from_secs(5));
        let dir = tempfile::tempdir().unwrap();
        let mut d = drbd::backend("r0", Some("/dev/drbd0".into()), None);
        d.proc_drbd = dir.path().join("no-drbd");
        assert!(!d.loaded());
        assert_eq!(d.state(&deadline).unwrap(), State::DOWN);
        d.proc_drbd = dir.path().join("drbd");
        let text = include_str!("../tests/fixtures/proc_drbd_84_secondary.txt");
        std::fs::write(&d.proc_drbd, text).unwrap();
        assert!(d.loaded());
        let st = d.state(&deadline).unwrap();
        assert_eq!((st.role, st.connected), (LocalRole::Secondary, true));
        d.device = Some("/dev/drbd7".into());
        assert_eq!(d.state(&deadline).unwrap(), State::DOWN, "minor 7 is not configured");
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
