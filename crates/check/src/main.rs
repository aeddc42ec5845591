//! `ferroha-check`: command-line front end to [`ferroha_check::Checker`].
//!
//! Arguments are lexed by lexopt: the options are few and flat, and clap would be the crate's
//! largest dependency by far. Exit status: 0 when every step passed, 1 when any failed, 2 on usage
//! errors.

use std::io::Write;
use std::process::ExitCode;

use ferroha_check::Checker;

const USAGE: &str = "\
usage: ferroha-check [-n NAME] [-o name=value]... [--absent K=V]... [--env K=V]...
                     [--wrap 'CMD ARG...'] [--no-xmllint] /path/to/agent

Runs an OCF resource agent through ocf-tester's sequence plus stricter checks
(role reporting, required parameters, exit reasons, timeouts, both schemas).
The resource must be stopped before the check; the checker stops what it starts.

options:
  -n NAME          OCF_RESOURCE_INSTANCE (default: ferroha-check)
  -o name=value    resource parameter, passed as OCF_RESKEY_name (repeatable)
  --env K=V        extra environment for every action, e.g. PATH or OCF_ROOT (repeatable)
  --absent K=V     extra environment for the \"software absent\" probe and meta-data,
                   which also get PATH=/nonexistent and OCF_TESTER_FAIL_HAVE_BINARY=1
                   (repeatable)
  --wrap 'CMD...'  run every action through this prefix, e.g. 'ip netns exec ns1'
  --no-xmllint     skip DTD/RelaxNG validation (reported as SKIP)
  -h, --help       print this help

exit status: 0 all steps passed, 1 a step failed, 2 usage error";

/// A command line that cannot be run.
#[derive(Debug, thiserror::Error)]
enum UsageError {
    #[error(transparent)]
    Lexer(#[from] lexopt::Error),
    #[error("{option} expects K=V, got {value:?}")]
    NotAssignment { option: String, value: String },
    #[error("no agent given")]
    NoAgent,
    #[error("more than one agent given ({0} and {1})")]
    TwoAgents(String, String),
    #[error("--wrap needs at least a command")]
    EmptyWrapper,
}

enum Command {
    Help,
    Check(Box<Checker>),
}

fn main() -> ExitCode {
    match parse(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Command::Check(checker)) => {
            let report = checker.run();
            // A reader that went away (`| head`) does not change the verdict; print! would panic.
            let mut stdout = std::io::stdout().lock();
            if let Err(err) = write!(stdout, "{report}").and_then(|()| stdout.flush())
                && err.kind() != std::io::ErrorKind::BrokenPipe
            {
                eprintln!("ferroha-check: cannot write the report: {err}");
            }
            if report.passed() { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Err(err) => {
            eprintln!("ferroha-check: {err}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse(args: impl Iterator<Item = std::ffi::OsString>) -> Result<Command, UsageError> {
    use lexopt::Arg::{Long, Short, Value};
    use lexopt::ValueExt;
    let mut instance = None;
    let mut params = Vec::new();
    let mut env = Vec::new();
    let mut absent = Vec::new();
    let mut wrapper = None;
    let mut xmllint = true;
    let mut agent: Option<String> = None;

    // "--opt value", "--opt=value", "-o value" and "-ovalue"; "--" ends the options.
    let mut parser = lexopt::Parser::from_iter(std::iter::once("ferroha-check".into()).chain(args));
    while let Some(arg) = parser.next()? {
        match arg {
            Short('h') | Long("help") => return Ok(Command::Help),
            Long("no-xmllint") => xmllint = false,
            Short('n') | Long("name") => instance = Some(parser.value()?.string()?),
            Short('o') | Long("option") => params.push(assignment("-o", parser.value()?)?),
            Long("env") => env.push(assignment("--env", parser.value()?)?),
            Long("absent") => absent.push(assignment("--absent", parser.value()?)?),
            Long("wrap") => {
                let words = parser.value()?.string()?;
                let words: Vec<String> = words.split_whitespace().map(str::to_owned).collect();
                if words.is_empty() {
                    return Err(UsageError::EmptyWrapper);
                }
                wrapper = Some(words);
            }
            Value(v) => {
                let v = v.string()?;
                if let Some(first) = agent.replace(v) {
                    return Err(UsageError::TwoAgents(first, agent.unwrap_or_default()));
                }
            }
            other => return Err(other.unexpected().into()),
        }
    }

    let mut checker = Checker::new(agent.ok_or(UsageError::NoAgent)?).xmllint(xmllint);
    if let Some(name) = instance {
        checker = checker.instance(&name);
    }
    for (k, v) in &params {
        checker = checker.param(k, v);
    }
    for (k, v) in &env {
        checker = checker.env(k, v);
    }
    for (k, v) in &absent {
        checker = checker.absent(k, v);
    }
    if let Some(words) = wrapper {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        checker = checker.wrapper(&words);
    }
    Ok(Command::Check(Box::new(checker)))
}

fn assignment(option: &str, value: std::ffi::OsString) -> Result<(String, String), UsageError> {
    let value = lexopt::ValueExt::string(value)?;
    match value.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(UsageError::NotAssignment { option: option.to_owned(), value }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().map(std::ffi::OsString::from))
    }

    fn checker(args: &[&str]) -> Checker {
        match parse_strs(args) {
            Ok(Command::Check(checker)) => *checker,
            Ok(Command::Help) => panic!("unexpected help for {args:?}"),
            Err(err) => panic!("unexpected error for {args:?}: {err}"),
        }
    }

    #[test]
    fn full_command_line() {
        let c = checker(&[
            "-n",
            "r1",
            "-o",
            "ip=192.0.2.1",
            "-ocidr_netmask=24",
            "--absent=OCF_RESKEY_binary=/nowhere",
            "--env",
            "HA_debug=1",
            "--wrap",
            "ip netns exec ns1",
            "--no-xmllint",
            "/usr/lib/ocf/resource.d/ferroha/vip",
        ]);
        let want = Checker::new("/usr/lib/ocf/resource.d/ferroha/vip")
            .instance("r1")
            .param("ip", "192.0.2.1")
            .param("cidr_netmask", "24")
            .absent("OCF_RESKEY_binary", "/nowhere")
            .env("HA_debug", "1")
            .wrapper(&["ip", "netns", "exec", "ns1"])
            .xmllint(false);
        assert_eq!(c, want);
    }

    #[test]
    fn help_wins() {
        assert!(matches!(parse_strs(&["-o", "a=b", "--help"]), Ok(Command::Help)));
        assert!(matches!(parse_strs(&["-h"]), Ok(Command::Help)));
    }

    #[test]
    fn usage_errors() {
        assert!(matches!(parse_strs(&[]), Err(UsageError::NoAgent)));
        assert!(matches!(parse_strs(&["a", "b"]), Err(UsageError::TwoAgents(..))));
        assert!(matches!(
            parse_strs(&["-o", "novalue", "a"]),
            Err(UsageError::NotAssignment { .. })
        ));
        assert!(matches!(parse_strs(&["-o", "=v", "a"]), Err(UsageError::NotAssignment { .. })));
        assert!(matches!(
            parse_strs(&["a", "-n"]),
            Err(UsageError::Lexer(lexopt::Error::MissingValue { .. }))
        ));
        assert!(matches!(
            parse_strs(&["--frob", "a"]),
            Err(UsageError::Lexer(lexopt::Error::UnexpectedOption(_)))
        ));
        assert!(matches!(
            parse_strs(&["-é", "a"]),
            Err(UsageError::Lexer(lexopt::Error::UnexpectedOption(_)))
        ));
        assert!(matches!(parse_strs(&["--wrap", " ", "a"]), Err(UsageError::EmptyWrapper)));
    }

    /// Every option of the usage text is in the man page, and the man page has no other.
    #[test]
    fn the_man_page_lists_every_option() {
        let man = include_str!("../man/ferroha-check.1").replace("\\-", "-");
        let options = |text: &str| -> Vec<String> {
            let mut found: Vec<String> = text
                .split(|c: char| c.is_whitespace() || c == ',' || c == '[' || c == ']')
                .map(|w| w.trim_start_matches("\\fB").trim_end_matches("\\fR"))
                .filter(|w| w.starts_with('-') && w.len() > 1 && w != &"--" && !w.contains('='))
                .map(str::to_owned)
                .collect();
            found.sort();
            found.dedup();
            found
        };
        let usage = options(USAGE.split("options:").nth(1).unwrap_or(""));
        assert_eq!(options(man.split(".SH OPTIONS").nth(1).unwrap_or("")), usage);
        assert!(usage.len() >= 7, "{usage:?}");
    }

    #[test]
    fn double_dash_ends_options() {
        let c = checker(&["--", "-odd-agent-name"]);
        assert_eq!(c, Checker::new("-odd-agent-name"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use std::os::unix::ffi::OsStringExt;

        proptest! {
            /// Any command line is a check, help or a usage error: never a panic (exit 101).
            #[test]
            fn any_command_line_is_parsed(
                args in prop::collection::vec(
                    prop_oneof![
                        prop::collection::vec(any::<u8>(), 0..10).prop_map(std::ffi::OsString::from_vec),
                        prop::sample::select(&["-n", "-o", "--env", "--absent", "--wrap", "--no-xmllint", "--", "-h", "a=b", "=", "-oé"][..])
                            .prop_map(std::ffi::OsString::from),
                    ],
                    0..6,
                ),
            ) {
                let _ = parse(args.into_iter());
            }
        }
    }
}
