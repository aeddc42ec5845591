//! `ferroha-check`: command-line front end to [`ferroha_check::Checker`].
//!
//! Hand-written argument parsing: the options are few and flat, and clap would be the crate's largest
//! dependency by far. Exit status: 0 when every step passed, 1 when any failed, 2 on usage errors.

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
    #[error("{0} needs a value")]
    MissingValue(String),
    #[error("{option} expects K=V, got {value:?}")]
    NotAssignment { option: String, value: String },
    #[error("unknown option {0}")]
    UnknownOption(String),
    #[error("no agent given")]
    NoAgent,
    #[error("more than one agent given ({0} and {1})")]
    TwoAgents(String, String),
    #[error("--wrap needs at least a command")]
    EmptyWrapper,
    #[error("argument {0:?} is not valid UTF-8")]
    NotUtf8(std::ffi::OsString),
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
    let args = args
        .map(|a| a.into_string().map_err(UsageError::NotUtf8))
        .collect::<Result<Vec<String>, _>>()?;
    let mut instance = None;
    let mut params = Vec::new();
    let mut env = Vec::new();
    let mut absent = Vec::new();
    let mut wrapper = None;
    let mut xmllint = true;
    let mut agent: Option<String> = None;
    let mut only_positional = false;

    let mut iter = args.into_iter();
    while let Some(arg) = iter.next() {
        if only_positional || !arg.starts_with('-') || arg == "-" {
            match agent.replace(arg) {
                Some(first) => {
                    return Err(UsageError::TwoAgents(first, agent.unwrap_or_default()));
                }
                None => continue,
            }
        }
        // Accept both "--opt value" and "--opt=value" (and "-ovalue" for the short ones).
        let (option, inline) = match arg.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o.to_owned(), Some(v.to_owned())),
            _ if !arg.starts_with("--") && arg.len() > 2 => {
                (arg[..2].to_owned(), Some(arg[2..].to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let mut value = || {
            inline.clone().or_else(|| iter.next()).ok_or(UsageError::MissingValue(option.clone()))
        };
        match option.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--" => only_positional = true,
            "--no-xmllint" => xmllint = false,
            "-n" | "--name" => instance = Some(value()?),
            "-o" | "--option" => params.push(assignment(&option, value()?)?),
            "--env" => env.push(assignment(&option, value()?)?),
            "--absent" => absent.push(assignment(&option, value()?)?),
            "--wrap" => {
                let words: Vec<String> = value()?.split_whitespace().map(str::to_owned).collect();
                if words.is_empty() {
                    return Err(UsageError::EmptyWrapper);
                }
                wrapper = Some(words);
            }
            _ => return Err(UsageError::UnknownOption(arg)),
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

fn assignment(option: &str, value: String) -> Result<(String, String), UsageError> {
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
        let debug = format!("{c:?}");
        for needle in [
            "instance: \"r1\"",
            "\"ip\": \"192.0.2.1\"",
            "\"cidr_netmask\": \"24\"",
            "\"OCF_RESKEY_binary\": \"/nowhere\"",
            "\"HA_debug\": \"1\"",
            "wrapper: [\"ip\", \"netns\", \"exec\", \"ns1\"]",
            "xmllint: false",
        ] {
            assert!(debug.contains(needle), "{needle} not in {debug}");
        }
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
        assert!(matches!(parse_strs(&["a", "-n"]), Err(UsageError::MissingValue(_))));
        assert!(matches!(parse_strs(&["--frob", "a"]), Err(UsageError::UnknownOption(_))));
        assert!(matches!(parse_strs(&["--wrap", " ", "a"]), Err(UsageError::EmptyWrapper)));
    }

    #[test]
    fn double_dash_ends_options() {
        let c = checker(&["--", "-odd-agent-name"]);
        assert!(format!("{c:?}").contains("agent: \"-odd-agent-name\""));
    }
}
