//! The command line: one table of options (the usage text, the man page test and the docs test
//! all read it), parsed with `lexopt`.

use std::ffi::OsString;
use std::time::Duration;

/// The two halves of a rebuild.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// On the primary: wait for the rebuilding node and stream a backup to it.
    Serve,
    /// On the node to rebuild: check, receive, prepare, swap.
    Receive,
}

/// Which modes an option applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum For {
    Both,
    Serve,
    Receive,
}

/// One option: its long name, its value's name, the modes it is for and what it does.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Opt {
    pub(crate) name: &'static str,
    pub(crate) value: Option<&'static str>,
    pub(crate) modes: For,
    pub(crate) help: &'static str,
}

/// The default TCP port of the copy stream (the port Galera's mariabackup SST uses too).
pub(crate) const STREAM_PORT: u16 = 4444;
/// How long `serve` waits for the rebuilding node by default, seconds.
pub(crate) const WAIT_SECS: u64 = 600;
/// How long either side waits for the other to send anything before giving up, seconds.
pub(crate) const IDLE_SECS: u64 = 600;

pub(crate) const OPTIONS: &[Opt] = &[
    Opt {
        name: "resource",
        value: Some("ID"),
        modes: For::Both,
        help: "The ocf:ferroha:mariadb primitive whose parameters to use (default: the only one in the CIB).",
    },
    Opt {
        name: "node",
        value: Some("NAME"),
        modes: For::Both,
        help: "This node's name in node_map (default: crm_node -n, else the host name).",
    },
    Opt {
        name: "param",
        value: Some("NAME=VALUE"),
        modes: For::Both,
        help: "Set one agent parameter, over the CIB's value; repeatable.",
    },
    Opt {
        name: "no-cib",
        value: None,
        modes: For::Both,
        help: "Do not read the CIB: parameters come from --param and the agent's defaults.",
    },
    Opt {
        name: "stream-port",
        value: Some("PORT"),
        modes: For::Both,
        help: "TCP port of the copy stream on the primary's node_map address (default 4444).",
    },
    Opt {
        name: "wait",
        value: Some("SECONDS"),
        modes: For::Serve,
        help: "How long serve waits for the rebuilding node to connect (default 600).",
    },
    Opt {
        name: "from",
        value: Some("NODE"),
        modes: For::Receive,
        help: "The primary to copy from (default: the one writable node of node_map).",
    },
    Opt {
        name: "force",
        value: None,
        modes: For::Receive,
        help: "Rebuild even when this node holds transactions the primary lacks, or when its position cannot be read.",
    },
    Opt {
        name: "dry-run",
        value: None,
        modes: For::Both,
        help: "Make every check and say what would be done; copy, move and delete nothing.",
    },
    Opt { name: "help", value: None, modes: For::Both, help: "Print this help and exit." },
];

/// The parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Args {
    pub(crate) mode: Mode,
    pub(crate) resource: Option<String>,
    pub(crate) node: Option<String>,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) no_cib: bool,
    pub(crate) stream_port: u16,
    pub(crate) wait: Duration,
    pub(crate) from: Option<String>,
    pub(crate) force: bool,
    pub(crate) dry_run: bool,
}

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    Run(Args),
    Help,
}

/// The usage text, from [`OPTIONS`].
pub(crate) fn usage() -> String {
    let mut s = String::from(
        "usage: ferroha-mariadb-rebuild serve   [OPTIONS]   (on the primary)\n       \
         ferroha-mariadb-rebuild receive [OPTIONS]   (on the node to rebuild, its server stopped)\n\n\
         Rebuilds a replica of the ocf:ferroha:mariadb clone from the current primary with\n\
         mariadb-backup; the old datadir is moved aside, never deleted. Options:\n",
    );
    for o in OPTIONS {
        let flag = match o.value {
            Some(v) => format!("--{} {v}", o.name),
            None => format!("--{}", o.name),
        };
        let only = match o.modes {
            For::Both => "",
            For::Serve => " (serve)",
            For::Receive => " (receive)",
        };
        s.push_str(&format!("  {flag:<24} {}{only}\n", o.help));
    }
    s
}

fn string(v: OsString, what: &str) -> Result<String, String> {
    v.into_string().map_err(|_| format!("{what}: not valid UTF-8"))
}

/// Parse `args` (without the program name).
pub(crate) fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Parsed, String> {
    use lexopt::Arg::{Long, Short, Value};
    let mut p = lexopt::Parser::from_args(args);
    let mut mode = None;
    let mut a = Args {
        mode: Mode::Receive,
        resource: None,
        node: None,
        params: Vec::new(),
        no_cib: false,
        stream_port: STREAM_PORT,
        wait: Duration::from_secs(WAIT_SECS),
        from: None,
        force: false,
        dry_run: false,
    };
    let mut seen: Vec<&'static str> = Vec::new();
    while let Some(arg) = p.next().map_err(|e| e.to_string())? {
        let name = match arg {
            Value(v) if mode.is_none() => {
                mode = Some(match string(v, "mode")?.as_str() {
                    "serve" => Mode::Serve,
                    "receive" => Mode::Receive,
                    other => return Err(format!("unknown mode '{other}' (serve or receive)")),
                });
                continue;
            }
            Value(v) => return Err(format!("unexpected argument '{}'", v.to_string_lossy())),
            Short('h') => return Ok(Parsed::Help),
            Short(c) => return Err(format!("unknown option -{c}")),
            Long(n) => n.to_owned(),
        };
        let opt = OPTIONS
            .iter()
            .find(|o| o.name == name)
            .ok_or_else(|| format!("unknown option --{name}"))?;
        if opt.name != "param" && seen.contains(&opt.name) {
            return Err(format!("--{} given twice", opt.name));
        }
        seen.push(opt.name);
        let mut value = || -> Result<String, String> {
            string(p.value().map_err(|e| e.to_string())?, &format!("--{name}"))
        };
        match opt.name {
            "help" => return Ok(Parsed::Help),
            "resource" => a.resource = Some(value()?),
            "node" => a.node = Some(value()?),
            "param" => {
                let v = value()?;
                let (k, val) = v
                    .split_once('=')
                    .filter(|(k, _)| !k.is_empty())
                    .ok_or_else(|| format!("--param '{v}' is not NAME=VALUE"))?;
                a.params.push((k.to_owned(), val.to_owned()));
            }
            "no-cib" => a.no_cib = true,
            "stream-port" => {
                let v = value()?;
                a.stream_port = v
                    .parse()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("--stream-port '{v}' is not a TCP port"))?;
            }
            "wait" => {
                let v = value()?;
                let s: u64 = v.parse().map_err(|_| format!("--wait '{v}' is not seconds"))?;
                a.wait = Duration::from_secs(s);
            }
            "from" => a.from = Some(value()?),
            "force" => a.force = true,
            "dry-run" => a.dry_run = true,
            _ => unreachable!("every option of OPTIONS is handled"),
        }
    }
    let Some(mode) = mode else {
        return Err(
            "give a mode: serve (on the primary) or receive (on the node to rebuild)".into()
        );
    };
    a.mode = mode;
    for name in &seen {
        let opt = OPTIONS.iter().find(|o| o.name == *name).expect("seen options are in OPTIONS");
        let wrong = match (opt.modes, mode) {
            (For::Serve, Mode::Receive) => Some("serve"),
            (For::Receive, Mode::Serve) => Some("receive"),
            _ => None,
        };
        if let Some(only) = wrong {
            return Err(format!("--{name} is an option of {only} only"));
        }
    }
    Ok(Parsed::Run(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Args, String> {
        match parse(args.iter().map(OsString::from))? {
            Parsed::Run(a) => Ok(a),
            Parsed::Help => Err("help".into()),
        }
    }

    #[test]
    fn modes_and_defaults() {
        let a = run(&["receive"]).unwrap();
        assert_eq!(a.mode, Mode::Receive);
        assert_eq!(a.stream_port, STREAM_PORT);
        assert!(!a.force && !a.dry_run && !a.no_cib);
        let a = run(&["serve", "--wait", "30", "--stream-port", "5555"]).unwrap();
        assert_eq!(a.mode, Mode::Serve);
        assert_eq!(a.wait, Duration::from_secs(30));
        assert_eq!(a.stream_port, 5555);
    }

    #[test]
    fn params_repeat_and_split_at_the_first_equals() {
        let a = run(&["receive", "--param", "datadir=/d", "--param=additional_parameters=--a=b"])
            .unwrap();
        assert_eq!(
            a.params,
            [("datadir".into(), "/d".into()), ("additional_parameters".into(), "--a=b".into())]
        );
    }

    #[test]
    fn refusals() {
        for (args, want) in [
            (&[][..], "give a mode"),
            (&["rebuild"][..], "unknown mode 'rebuild'"),
            (&["receive", "--frob"][..], "unknown option --frob"),
            (&["receive", "--param", "x"][..], "not NAME=VALUE"),
            (&["receive", "--param", "=x"][..], "not NAME=VALUE"),
            (&["receive", "--stream-port", "0"][..], "not a TCP port"),
            (&["receive", "--wait", "5"][..], "--wait is an option of serve only"),
            (&["serve", "--force"][..], "--force is an option of receive only"),
            (&["serve", "--from", "n1"][..], "--from is an option of receive only"),
            (&["receive", "--node", "a", "--node", "b"][..], "--node given twice"),
            (&["receive", "extra"][..], "unexpected argument 'extra'"),
        ] {
            let e = run(args).unwrap_err();
            assert!(e.contains(want), "{args:?}: {e}");
        }
        assert_eq!(run(&["receive", "--help"]).unwrap_err(), "help");
    }

    #[test]
    fn usage_lists_every_option() {
        let u = usage();
        for o in OPTIONS {
            assert!(u.contains(&format!("--{}", o.name)), "{}", o.name);
        }
    }

    /// The man page and the docs describe every option.
    #[test]
    fn man_page_and_docs_list_every_option() {
        let man = include_str!("../../man/ferroha-mariadb-rebuild.8");
        let md = include_str!("../../../../docs/agents/mariadb.md");
        for o in OPTIONS {
            let roff = format!("\\fB\\-\\-{}\\fR", o.name.replace('-', "\\-"));
            assert!(man.contains(&roff), "man page lacks {roff}");
            assert!(md.contains(&format!("`--{}", o.name)), "docs lack --{}", o.name);
        }
    }
}
