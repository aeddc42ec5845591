//! `ferroha-mariadb-rebuild`: rebuild a replica of the `mariadb` promotable clone from the
//! current primary, when the agent refuses the node (its history forked: "diverged"; or it
//! fell behind what the primary's binary logs still hold) or the node is new (a replaced disk).
//!
//! # Design
//!
//! A physical copy: `serve`, run on the primary, streams `mariadb-backup --backup
//! --stream=mbstream` of the live server over one TCP connection to `receive`, run on the node
//! to rebuild, which extracts it with `mbstream -x` into a new directory next to the datadir,
//! prepares it (`mariadb-backup --prepare`), sets `gtid_slave_pos` to the GTID position the
//! backup records (`mariadb_backup_binlog_info`), moves the old datadir aside (renamed with a
//! timestamp, never deleted) and puts the copy in its place. The agent's next start then finds a
//! node whose position is a prefix of the primary's and attaches it by GTID, as any replica. The
//! copy runs at disk and network speed with the primary online (InnoDB is copied hot; commits
//! pause only for the backup's final lock), so it suits databases of any size; a logical dump
//! would need a privileged dump user and hours per hundred gigabytes.
//!
//! The connection is authenticated both ways and checked end to end with the replication
//! password (module `wire`); no shell, no ssh and no password on a command line are involved, and
//! the local login of `mariadb-backup` on the primary is the agent's own (`test_user`, its
//! password if any in a 0600 option file this command writes and removes).
//!
//! # Safety
//!
//! `receive` refuses while a server uses the datadir; reads the node's position (applied and
//! received) with a private server started exactly as the agent starts one, and refuses, unless
//! `--force`, when the node holds transactions the primary lacks (`facts::refusal`, the
//! agent's per-domain GTID compare); refuses when server files that belong with the data (binary
//! or relay logs, InnoDB files) live outside the datadir, since moving the datadir aside would
//! leave them to the rebuilt server; builds the copy beside the datadir and swaps only once it
//! is complete and positioned, re-checking that no server started meanwhile.

mod cib;
mod cli;
mod facts;
mod node;
mod wire;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime};

use ocf::{Action, Agent, Ctx, Deadline, OcfEnv, Values};

use crate::Mariadb;
use crate::config::{self, Config};
use crate::gtid::GtidSet;
use crate::settings::Addr;

use cli::{Args, Mode, Parsed};
use node::{Layout, PrivDir, Staging, TempServer};

/// `mariadb-backup` (Debian package `mariadb-backup`), on both nodes.
const BACKUP: &str = "/usr/bin/mariadb-backup";
/// `mbstream`, from the same package, on the node to rebuild.
const MBSTREAM: &str = "/usr/bin/mbstream";
/// How long to wait for the TCP connect to `serve`.
const CONNECT: Duration = Duration::from_secs(10);
/// How often `receive` reports how much it has received.
const PROGRESS: Duration = Duration::from_secs(30);

/// The command: parse, then run the mode; 0 done, 1 failed or refused, 2 usage.
pub fn main() -> ExitCode {
    let args = match cli::parse(std::env::args_os().skip(1)) {
        Ok(Parsed::Run(a)) => a,
        Ok(Parsed::Help) => {
            print!("{}", cli::usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("ferroha-mariadb-rebuild: {e}\n\n{}", cli::usage());
            return ExitCode::from(2);
        }
    };
    let tag = match args.mode {
        Mode::Serve => "serve",
        Mode::Receive => "receive",
    };
    let env = OcfEnv::from_vars(std::env::vars_os());
    ocf::log::Logger::from_env(&env, "ferroha-mariadb-rebuild", tag, std::process::id(), true)
        .install();
    let result = setup(&args).and_then(|s| match args.mode {
        Mode::Serve => serve(&args, &s),
        Mode::Receive => receive(&args, &s),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferroha-mariadb-rebuild {tag}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn say(msg: impl AsRef<str>) {
    println!("{}", msg.as_ref());
    let _ = std::io::stdout().flush();
}

/// The agent's configuration on this node, as the agent itself would validate it.
struct Setup {
    cfg: Config,
    env: OcfEnv,
    node: String,
    /// What to name in `crm resource` commands: the clone, else the primitive.
    resource: String,
}

fn setup(args: &Args) -> Result<Setup, String> {
    let (id, clone, mut params) = if args.no_cib {
        (args.resource.clone().unwrap_or_else(|| "db".into()), None, Vec::new())
    } else {
        let out = ocf::exec::run(
            "cibadmin",
            &["--query", "--scope", "resources"],
            &Deadline::after(Duration::from_secs(30)),
        )
        .map_err(|e| format!("cannot read the CIB ({e}); outside a cluster use --no-cib"))?;
        let r = cib::pick(cib::mariadb_resources(&out.stdout)?, args.resource.as_deref())?;
        (r.id, r.clone, r.params)
    };
    for (k, v) in &args.params {
        params.retain(|(pk, _)| pk != k);
        params.push((k.clone(), v.clone()));
    }
    let node = match &args.node {
        Some(n) => n.clone(),
        None => this_node()?,
    };
    let mut pairs: Vec<(String, String)> = vec![
        ("OCF_RESOURCE_INSTANCE".into(), id.clone()),
        ("OCF_RESKEY_CRM_meta_on_node".into(), node.clone()),
        ("OCF_RESKEY_CRM_meta_promotable".into(), "true".into()),
        ("OCF_RESKEY_CRM_meta_notify".into(), "true".into()),
        ("OCF_RESKEY_CRM_meta_timeout".into(), "3600000".into()),
    ];
    pairs.extend(params.into_iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v)));
    let ctx = Ctx::new(&Mariadb::INFO, Action::ValidateAll, OcfEnv::from_pairs(&pairs));
    let values = Values::parse(crate::PARAMS, &ctx.env).map_err(|e| e.reason().to_owned())?;
    if let Some(u) = values.unknown().first() {
        return Err(format!("'{u}' is not a parameter of ocf:ferroha:mariadb"));
    }
    // A new node may have no datadir yet, which the agent's validation refuses: validate with
    // its parent directory in its place, then put the real path back.
    let datadir = values.str(&crate::DATADIR).to_owned();
    let missing = !Path::new(&datadir).exists();
    let ctx = match Path::new(&datadir).parent().filter(|p| missing && p.is_dir()) {
        Some(parent) => {
            pairs.push(("OCF_RESKEY_datadir".into(), parent.display().to_string()));
            Ctx::new(&Mariadb::INFO, Action::ValidateAll, OcfEnv::from_pairs(&pairs))
        }
        None => ctx,
    };
    let values = Values::parse(crate::PARAMS, &ctx.env).map_err(|e| e.reason().to_owned())?;
    let mut cfg = config::validate(&values, &ctx).map_err(|e| e.reason().to_owned())?;
    cfg.datadir = datadir;
    if cfg.nodes.is_empty() {
        return Err("parameter 'node_map' is empty: a rebuild copies from a peer it names".into());
    }
    if cfg.repl.pass.is_none() {
        return Err("parameter 'replication_passwd_file' is not set; the copy stream is authenticated with it".into());
    }
    Ok(Setup { cfg, env: ctx.env.clone(), node, resource: clone.unwrap_or(id) })
}

impl Setup {
    /// A context whose deadline (an hour: crash recovery of a big datadir by the private
    /// server may take long) starts now, for one step: a copy may take longer than any
    /// deadline set before it.
    fn ctx(&self) -> Ctx {
        Ctx::new(&Mariadb::INFO, Action::ValidateAll, self.env.clone())
    }
}

/// `crm_node -n`, else the kernel's host name.
fn this_node() -> Result<String, String> {
    if let Ok(out) = ocf::exec::run("crm_node", &["-n"], &Deadline::after(Duration::from_secs(10)))
        && let Some(n) = out.stdout.split_whitespace().next()
    {
        return Ok(n.to_owned());
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .map_err(|e| format!("cannot tell this node's name ({e}); give --node"))
}

fn key(cfg: &Config) -> &[u8] {
    cfg.repl.pass.as_deref().unwrap_or_default().as_bytes()
}

fn tool(path: &str) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(()),
        _ => Err(format!("{path} not found: install the Debian package mariadb-backup")),
    }
}

fn addr_of<'a>(cfg: &'a Config, node: &str) -> Result<&'a Addr, String> {
    cfg.nodes.get(node).ok_or_else(|| format!("node '{node}' is not in node_map"))
}

// ---------------------------------------------------------------------------------------------
// serve

fn serve(args: &Args, s: &Setup) -> Result<(), String> {
    let cfg = &s.cfg;
    let me = addr_of(cfg, &s.node)?;
    let mut db = cfg.local_db(&s.ctx()).map_err(|e| {
        format!(
            "the local server does not answer over {} ({e}): serve runs on the primary",
            cfg.socket
        )
    })?;
    let (read_only, pos) = db.role_and_pos().map_err(|e| e.to_string())?;
    if read_only {
        return Err(format!(
            "this node's server is read-only: serve runs on the primary (the writable node), \
             not on {}",
            s.node
        ));
    }
    let version = db.value("reading the version", "SELECT @@version").map_err(|e| e.to_string())?;
    drop(db);
    tool(BACKUP)?;
    let listen = format!("{}:{}", bracket(&me.host), args.stream_port);
    say(format!("primary {} ({version}) at GTID position {pos}", s.node));
    if args.dry_run {
        say(format!(
            "dry run: would listen on {listen} for {} s and stream `{BACKUP} --backup \
             --stream=mbstream` of {} to the first node that proves it holds the replication \
             password; nothing done",
            args.wait.as_secs(),
            cfg.datadir
        ));
        return Ok(());
    }
    let listener = TcpListener::bind((me.host.as_str(), args.stream_port))
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    say(format!(
        "waiting up to {} s on {listen}: run `ferroha-mariadb-rebuild receive` on the node to rebuild",
        args.wait.as_secs()
    ));
    let deadline = Deadline::after(args.wait);
    loop {
        let (mut conn, peer) = match listener.accept() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if deadline.expired() {
                    return Err(format!("no node connected within {} s", args.wait.as_secs()));
                }
                deadline.sleep(Duration::from_millis(100));
                continue;
            }
            Err(e) => return Err(format!("accepting on {listen}: {e}")),
        };
        let setup = conn
            .set_nonblocking(false)
            .and_then(|()| conn.set_read_timeout(Some(Duration::from_secs(30))))
            .and_then(|()| conn.set_write_timeout(Some(Duration::from_secs(cli::IDLE_SECS))));
        if let Err(e) = setup {
            log::warn!("connection from {peer}: {e}");
            continue;
        }
        match wire::accept(&mut conn, key(cfg)) {
            Ok(tx) => {
                say(format!("{peer} holds the replication password: streaming the backup"));
                let header = format!("node={} version={version} position={pos}", s.node);
                return stream_backup(cfg, conn, tx, &header);
            }
            Err(e) => log::warn!("connection from {peer} dropped: {e}"),
        }
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') { format!("[{host}]") } else { host.to_owned() }
}

/// Run `mariadb-backup --backup --stream=mbstream` and send its output.
fn stream_backup(
    cfg: &Config,
    mut conn: TcpStream,
    mut tx: wire::Sender,
    header: &str,
) -> Result<(), String> {
    let dir = PrivDir::new(cfg)?;
    let mut argv: Vec<String> = Vec::new();
    // mariadb-backup takes one of --defaults-file / --defaults-extra-file, first on its
    // command line: with a password, one private 0600 file includes the agent's option file
    // and adds the password (later lines win).
    match (&cfg.local.pass, &cfg.config) {
        (Some(pass), config) => {
            let value = facts::option_value(pass)
                .ok_or("the test_user password cannot be written to an option file")?;
            let include = config.as_ref().map(|c| format!("!include {c}\n")).unwrap_or_default();
            let path = dir.file("backup.cnf");
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            f.write_all(format!("{include}[mariadb-backup]\npassword={value}\n").as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            argv.push(format!("--defaults-file={}", path.display()));
        }
        (None, Some(c)) => argv.push(format!("--defaults-file={c}")),
        (None, None) => argv.push("--no-defaults".into()),
    }
    let target = dir.file("backup");
    std::fs::create_dir(&target).map_err(|e| format!("{}: {e}", target.display()))?;
    argv.extend([
        "--backup".into(),
        "--stream=mbstream".into(),
        format!("--target-dir={}", target.display()),
        format!("--datadir={}", cfg.datadir),
        format!("--socket={}", cfg.socket),
        format!("--user={}", cfg.local.user),
    ]);
    let errlog = dir.file("backup.log");
    let stderr =
        std::fs::File::create(&errlog).map_err(|e| format!("{}: {e}", errlog.display()))?;
    let mut child = Command::new(BACKUP)
        .args(&argv)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("cannot start {BACKUP}: {e}"))?;
    let mut out = child.stdout.take().expect("stdout is piped");
    let t0 = Instant::now();
    let mut sent: u64 = 0;
    let mut buf = vec![0u8; 256 << 10];
    let result = (|| -> Result<(), String> {
        tx.header(&mut conn, header).map_err(|e| format!("sending: {e}"))?;
        loop {
            let n = out.read(&mut buf).map_err(|e| format!("reading {BACKUP}: {e}"))?;
            if n == 0 {
                return Ok(());
            }
            tx.data(&mut conn, &buf[..n])
                .map_err(|e| format!("the receiving node went away: {e}"))?;
            sent += n as u64;
        }
    })();
    if let Err(e) = result {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        let tail = crate::server::log_tail(&errlog).unwrap_or_default();
        let why = format!("{BACKUP} failed ({status}): {tail}");
        let _ = tx.end(&mut conn, Err(&why));
        return Err(why);
    }
    tx.end(&mut conn, Ok(())).map_err(|e| format!("sending the end of the stream: {e}"))?;
    // Wait until the receiver has read everything and closed its end.
    let _ = conn.shutdown(std::net::Shutdown::Write);
    let _ = conn.read(&mut [0u8; 1]);
    say(format!("sent {} MiB in {} s", sent >> 20, t0.elapsed().as_secs()));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// receive

fn receive(args: &Args, s: &Setup) -> Result<(), String> {
    let cfg = &s.cfg;
    tool(BACKUP)?;
    tool(MBSTREAM)?;
    let datadir = Path::new(&cfg.datadir);
    if let Some(who) = node::server_on(&cfg.datadir) {
        return Err(format!(
            "{who}: stop this node's server first (crm resource ban {} {}, and wait until it \
             is stopped)",
            s.resource, s.node
        ));
    }
    let layout = node::layout(datadir)?;
    let mount = node::is_mount_point(datadir);
    if matches!(layout, Layout::Files { .. }) && mount {
        return Err(format!(
            "{} is a mount point, which cannot be moved aside: move its contents elsewhere \
             yourself (or point datadir at a directory inside the mount) and run again",
            cfg.datadir
        ));
    }
    let outside = node::data_files_outside(cfg)?;
    if !outside.is_empty() {
        return Err(format!(
            "the server keeps files that belong with the data outside {} ({}): moving the \
             datadir aside would leave them to the rebuilt server; keep them inside the datadir",
            cfg.datadir,
            outside.join(", ")
        ));
    }
    let (primary, addr) = find_primary(cfg, &s.ctx(), &s.node, args.from.as_deref())?;
    let theirs = primary_position(cfg, &s.ctx(), &primary, addr)?;
    match layout {
        Layout::Files { database: true } => {
            say("reading this node's GTID position with a private server on its datadir");
            match read_position(cfg, &s.ctx(), datadir) {
                Ok(mine) => {
                    say(format!(
                        "this node holds {} (applied and received); the primary {primary} has {theirs}",
                        shown(&mine)
                    ));
                    if let Some(why) = facts::refusal(&mine, &theirs, &primary) {
                        if !args.force {
                            return Err(why);
                        }
                        let lacks = facts::lack_summary(&mine, &theirs, &primary);
                        say(format!(
                            "--force: {}; after the rebuild they exist only in the datadir moved aside",
                            lacks.unwrap_or_default()
                        ));
                    }
                }
                Err(e) if args.force => {
                    say(format!("--force: cannot read this node's GTID position ({e})"));
                }
                Err(e) => {
                    return Err(format!(
                        "cannot read this node's GTID position ({e}): a rebuild must first know \
                         that the node holds nothing the primary lacks; fix the cause, or rerun \
                         with --force"
                    ));
                }
            }
        }
        Layout::Files { database: false } => {
            say(format!("{} holds files but no database (no mysql/)", cfg.datadir));
        }
        Layout::Empty | Layout::Missing => say(format!("{} holds nothing yet", cfg.datadir)),
    }
    let stamp = facts::stamp(&ocf::log::timestamp(SystemTime::now()));
    let in_place = layout == Layout::Empty && mount;
    let staging = if in_place {
        datadir.to_path_buf()
    } else {
        facts::sibling(datadir, "rebuild", stamp.as_str())
    };
    let aside = matches!(layout, Layout::Files { .. })
        .then(|| facts::sibling(datadir, "old", stamp.as_str()));
    let stream = format!("{}:{}", bracket(&addr.host), args.stream_port);
    say(format!("plan: copy {primary} (serve at {stream}) into {}", staging.display()));
    say("plan: prepare it and set gtid_slave_pos to the position the copy records");
    match &aside {
        Some(a) => say(format!(
            "plan: move {} aside to {} (kept, never deleted), then put the copy in its place",
            cfg.datadir,
            a.display()
        )),
        None if !in_place => say(format!("plan: put the copy in place as {}", cfg.datadir)),
        None => {}
    }
    if args.dry_run {
        say("dry run: nothing changed");
        return Ok(());
    }
    let like = matches!(layout, Layout::Files { .. } | Layout::Empty).then_some(datadir);
    let staged = Staging::create(&staging, in_place, like)?;
    let header = copy_from(cfg, &stream, &staged.path)?;
    say(format!("received the copy of {header}; preparing it"));
    let out = ocf::exec::run(
        BACKUP,
        &["--no-defaults", "--prepare", &format!("--target-dir={}", staged.path.display())],
        &Deadline::after(Duration::from_secs(24 * 3600)),
    )
    .map_err(|e| format!("preparing the copy: {e}"))?;
    drop(out);
    let pos = copied_position(&staged.path)?;
    let now = primary_position(cfg, &s.ctx(), &primary, addr)?;
    if !pos.may_be_prefix_of(&now) {
        return Err(format!(
            "the copy's position {pos} is not in the history of {primary} ({now}): was {primary} \
             still the primary? Nothing was changed"
        ));
    }
    node::chown_tree(&staged.path, cfg.uid, cfg.gid)?;
    set_position(cfg, &s.ctx(), &staged.path, &pos)?;
    if let Some(who) = node::server_on(&cfg.datadir) {
        return Err(format!("{who} (started during the copy?): nothing was changed"));
    }
    if !in_place {
        swap(datadir, &staged.path, aside.as_deref(), layout)?;
    }
    staged.keep();
    say(format!("rebuilt {} from {primary} at GTID position {pos}", cfg.datadir));
    if let Some(a) = &aside {
        say(format!(
            "the old datadir is kept at {} (remove it yourself once this node has caught up)",
            a.display()
        ));
    }
    say(format!(
        "next: crm resource clear {r} {n}; crm resource cleanup {r} {n} — the agent then starts \
         the server and attaches it to {primary} by GTID",
        r = s.resource,
        n = s.node
    ));
    Ok(())
}

fn shown(p: &GtidSet) -> String {
    if *p == GtidSet::default() { "no transaction".into() } else { format!("GTID position {p}") }
}

/// `--from`, else the one writable peer of node_map.
fn find_primary<'a>(
    cfg: &'a Config,
    ctx: &Ctx,
    me: &str,
    from: Option<&str>,
) -> Result<(String, &'a Addr), String> {
    if let Some(n) = from {
        if n == me {
            return Err("--from names this node".into());
        }
        return Ok((n.to_owned(), addr_of(cfg, n)?));
    }
    let peers = crate::repl::peer_positions(cfg, ctx, false);
    let writable: Vec<&String> = peers.iter().filter(|(_, ro, _)| !ro).map(|(n, _, _)| n).collect();
    match writable.as_slice() {
        [one] => Ok(((*one).clone(), addr_of(cfg, one)?)),
        [] => Err(format!(
            "no writable peer answers ({} of {} peers reachable): name the primary with --from",
            peers.len(),
            cfg.nodes.len() - 1
        )),
        many => Err(format!(
            "several peers are writable ({}): name the primary with --from",
            many.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The primary's `gtid_binlog_pos` (what it can replicate), after checking it is writable.
fn primary_position(cfg: &Config, ctx: &Ctx, who: &str, addr: &Addr) -> Result<GtidSet, String> {
    let mut db = cfg
        .peer_db(addr, ctx)
        .map_err(|e| format!("cannot reach the primary {who} at {addr}: {e}"))?;
    let (read_only, _) = db.role_and_pos().map_err(|e| format!("{who}: {e}"))?;
    if read_only {
        return Err(format!("{who} is read-only: it is not the primary"));
    }
    let pos = db
        .value("reading gtid_binlog_pos", "SELECT @@global.gtid_binlog_pos")
        .map_err(|e| format!("{who}: {e}"))?;
    GtidSet::parse(&pos).map_err(|e| format!("{who}: {e}"))
}

/// What the datadir holds: applied (`gtid_current_pos`) and received (`Gtid_IO_Pos`).
fn read_position(cfg: &Config, ctx: &Ctx, datadir: &Path) -> Result<GtidSet, String> {
    let dir = PrivDir::new(cfg)?;
    let (server, mut db) = TempServer::start(cfg, datadir, &[], &dir, ctx)?;
    let pos = (|| -> Result<GtidSet, String> {
        let (_, applied) = db.role_and_pos().map_err(|e| e.to_string())?;
        let received = match db.slave_status().map_err(|e| e.to_string())? {
            Some(s) => GtidSet::parse(&s.gtid_io_pos).map_err(|e| e.to_string())?,
            None => GtidSet::default(),
        };
        Ok(applied.union(&received))
    })();
    drop(db);
    server.stop()?;
    pos
}

/// Receive the stream from `serve` into `dir` through `mbstream -x`; the header line.
fn copy_from(cfg: &Config, stream: &str, dir: &Path) -> Result<String, String> {
    let target = stream
        .to_socket_addrs()
        .map_err(|e| format!("{stream}: {e}"))?
        .next()
        .ok_or_else(|| format!("{stream}: no address"))?;
    let mut conn = TcpStream::connect_timeout(&target, CONNECT).map_err(|e| {
        format!("cannot connect to {stream} ({e}): run `ferroha-mariadb-rebuild serve` on the primary first")
    })?;
    let idle = Some(Duration::from_secs(cli::IDLE_SECS));
    conn.set_read_timeout(idle)
        .and_then(|()| conn.set_write_timeout(idle))
        .map_err(|e| e.to_string())?;
    let mut rx = wire::connect(&mut conn, key(cfg)).map_err(|e| format!("{stream}: {e}"))?;
    let mut child = Command::new(MBSTREAM)
        .args(["-x", "-C"])
        .arg(dir)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {MBSTREAM}: {e}"))?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let errs = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let t0 = Instant::now();
    let mut last = t0;
    let mut got: u64 = 0;
    let mut header = String::new();
    let result = loop {
        match rx.next(&mut conn) {
            Ok(wire::Frame::Header(h)) => header = h,
            Ok(wire::Frame::Data(d)) => {
                if let Err(e) = stdin.write_all(&d) {
                    break Err(format!("{MBSTREAM} stopped reading: {e}"));
                }
                got += d.len() as u64;
                if last.elapsed() >= PROGRESS {
                    last = Instant::now();
                    say(format!("received {} MiB so far", got >> 20));
                }
            }
            Ok(wire::Frame::End(Ok(()))) => break Ok(()),
            Ok(wire::Frame::End(Err(why))) => {
                break Err(format!("the primary's backup failed: {why}"));
            }
            Err(e) => break Err(format!("{stream}: {e}")),
        }
    };
    drop(stdin);
    if let Err(e) = result {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let text = errs.join().unwrap_or_default();
    if !status.success() {
        let tail = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!("{MBSTREAM} failed ({status}): {tail}"));
    }
    say(format!("received {} MiB in {} s", got >> 20, t0.elapsed().as_secs()));
    Ok(header)
}

/// The GTID position a prepared copy records.
fn copied_position(dir: &Path) -> Result<GtidSet, String> {
    for name in ["mariadb_backup_binlog_info", "xtrabackup_binlog_info"] {
        if let Ok(text) = std::fs::read_to_string(dir.join(name)) {
            return facts::backup_position(&text).map_err(|e| format!("{name}: {e}"));
        }
    }
    Err("the copy records no binary log position (is log-bin on on the primary?)".into())
}

/// Set the copy's replication position with a private server on it, without a binary log (no
/// binary log file is created or touched): no replication configuration copied from the
/// primary, `gtid_slave_pos` = the copy's position, checked back as `gtid_current_pos`.
fn set_position(cfg: &Config, ctx: &Ctx, dir: &Path, pos: &GtidSet) -> Result<(), String> {
    let priv_dir = PrivDir::new(cfg)?;
    let (server, mut db) = TempServer::start(cfg, dir, &["--skip-log-bin"], &priv_dir, ctx)?;
    let result = (|| -> Result<(), String> {
        db.exec("clearing replication settings", "RESET SLAVE ALL").map_err(|e| e.to_string())?;
        // A GtidSet prints as digits, '-' and ',' only.
        db.exec("setting gtid_slave_pos", &format!("SET GLOBAL gtid_slave_pos='{pos}'"))
            .map_err(|e| e.to_string())?;
        let (_, now) = db.role_and_pos().map_err(|e| e.to_string())?;
        if now != *pos {
            return Err(format!("gtid_current_pos is {now} after setting gtid_slave_pos to {pos}"));
        }
        Ok(())
    })();
    drop(db);
    server.stop()?;
    result
}

/// Move the datadir aside (or remove it when it is an empty directory: `rmdir` cannot remove
/// anything else) and put the copy in its place; on failure, put the old one back.
fn swap(datadir: &Path, staged: &Path, aside: Option<&Path>, layout: Layout) -> Result<(), String> {
    match (aside, layout) {
        (Some(a), _) => std::fs::rename(datadir, a).map_err(|e| {
            format!("cannot move {} aside to {}: {e}", datadir.display(), a.display())
        })?,
        (None, Layout::Empty) => std::fs::remove_dir(datadir)
            .map_err(|e| format!("cannot replace the empty {}: {e}", datadir.display()))?,
        (None, _) => {}
    }
    if let Err(e) = std::fs::rename(staged, datadir) {
        if let Some(a) = aside {
            let _ = std::fs::rename(a, datadir);
        }
        return Err(format!("cannot put {} in place: {e}", staged.display()));
    }
    Ok(())
}
