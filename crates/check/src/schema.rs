//! Meta-data schema validation: the one xmllint run behind the checker's `meta-data: DTD` and
//! `meta-data: RelaxNG` steps, also offered to the agents' own tests, with the same flags
//! (`--noout --nonet`), environment (`PATH` [`DEFAULT_PATH`], `LC_ALL=C`) and working directory
//! (next to the schemas, as ocf-tester runs it, so a DOCTYPE's relative `ra-api-1.dtd`
//! resolves).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use crate::checker::{DEFAULT_PATH, DTD_PATH, RNG_PATH};
use crate::exec::{self, ExecError, Finished, Program};
use crate::metadata::{DEFAULT_TIMEOUT, Metadata};

/// A schema resource-agents ships.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    /// `ra-api-1.dtd`, what ocf-tester validates against.
    Dtd,
    /// `metadata.rng`, what resource-agents' own `make check` uses.
    RelaxNg,
}

impl Schema {
    /// Where Debian's resource-agents installs it.
    pub fn path(self) -> &'static str {
        match self {
            Schema::Dtd => DTD_PATH,
            Schema::RelaxNg => RNG_PATH,
        }
    }

    /// The checker's step name.
    pub(crate) fn step(self) -> &'static str {
        match self {
            Schema::Dtd => "meta-data: DTD (ra-api-1.dtd)",
            Schema::RelaxNg => "meta-data: RelaxNG (metadata.rng)",
        }
    }

    fn args(self) -> [&'static str; 4] {
        match self {
            Schema::Dtd => ["--noout", "--nonet", "--dtdvalid", DTD_PATH],
            Schema::RelaxNg => ["--noout", "--nonet", "--relaxng", RNG_PATH],
        }
    }

    /// The shell form of the check, for reports.
    pub(crate) fn command(self) -> String {
        format!("meta-data | xmllint {} -", self.args().join(" "))
    }
}

/// Why xmllint could not judge the meta-data.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unavailable {
    #[error("xmllint is not installed in {DEFAULT_PATH} (Debian: libxml2-utils)")]
    Xmllint,
    #[error("{0} is missing (Debian: resource-agents)")]
    Schema(&'static str),
    #[error("could not run xmllint")]
    Exec(#[from] ExecError),
}

/// Run xmllint on `xml` against `schema`.
pub(crate) fn xmllint(xml: &str, schema: Schema) -> Result<Finished, Unavailable> {
    let xmllint = exec::resolve("xmllint", DEFAULT_PATH).ok_or(Unavailable::Xmllint)?;
    let path = Path::new(schema.path());
    if !path.is_file() {
        return Err(Unavailable::Schema(schema.path()));
    }
    let mut argv: Vec<OsString> = vec![xmllint.into_os_string()];
    argv.extend(schema.args().iter().chain(&["-"]).map(OsString::from));
    let env = BTreeMap::from([
        ("PATH".to_owned(), DEFAULT_PATH.to_owned()),
        ("LC_ALL".to_owned(), "C".to_owned()),
    ]);
    let program = Program {
        argv: &argv,
        env: &env,
        stdin: Some(xml.as_bytes()),
        kill_after: DEFAULT_TIMEOUT * 2,
        cwd: path.parent().unwrap_or(Path::new("/")),
        user: None,
    };
    Ok(exec::run(&program)?)
}

/// An error and its sources, joined the way `anyhow` prints `{:#}`.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// Validate meta-data XML as the checker does; `Err` carries xmllint's complaints, or why it
/// could not run (xmllint comes from Debian's libxml2-utils, the schemas from resource-agents).
pub fn validate(xml: &str, schema: Schema) -> Result<(), String> {
    let done = xmllint(xml, schema).map_err(|e| chain(&e))?;
    match done.exit {
        exec::Exit::Code(0) => Ok(()),
        _ => Err(String::from_utf8_lossy(&done.stderr).into_owned()),
    }
}

/// `agent meta-data`, run with an empty environment: it must exit 0 and parse
/// ([`Metadata::parse`]). Returns the XML and what it says.
pub fn metadata_of(agent: &str) -> Result<(String, Metadata), String> {
    let out = Command::new(agent)
        .arg("meta-data")
        .env_clear()
        .output()
        .map_err(|e| format!("cannot run {agent}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{agent} meta-data exited with {}", out.status));
    }
    let xml = String::from_utf8(out.stdout).map_err(|_| "meta-data is not UTF-8".to_owned())?;
    let meta = Metadata::parse(&xml).map_err(|e| chain(&e))?;
    Ok((xml, meta))
}

/// Whether `meta` lists each of `params` exactly once, in that order, and no other parameter.
pub fn lists_exactly(meta: &Metadata, params: &[&str]) -> Result<(), String> {
    let listed: Vec<&str> = meta.parameters.iter().map(|p| p.name.as_str()).collect();
    if listed == params {
        Ok(())
    } else {
        Err(format!("meta-data lists the parameters {listed:?}, the table has {params:?}"))
    }
}

/// `agent meta-data` ([`metadata_of`]) lists exactly `params` ([`lists_exactly`]).
pub fn lists_exactly_of(agent: &str, params: &[&str]) -> Result<Metadata, String> {
    let (_, meta) = metadata_of(agent)?;
    lists_exactly(&meta, params)?;
    Ok(meta)
}

/// `agent meta-data` ([`metadata_of`]) validates against both schemas ([`validate`]).
pub fn validate_agent(agent: &str) -> Result<String, String> {
    let (xml, _) = metadata_of(agent)?;
    validate(&xml, Schema::Dtd).map_err(|e| format!("DTD: {e}"))?;
    validate(&xml, Schema::RelaxNg).map_err(|e| format!("RelaxNG: {e}"))?;
    Ok(xml)
}

/// Everything the agents' meta-data tests check: [`lists_exactly_of`] and [`validate_agent`].
/// Returns the XML for further checks.
pub fn check_agent(agent: &str, params: &[&str]) -> Result<String, String> {
    lists_exactly_of(agent, params)?;
    validate_agent(agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAD: &str = "<?xml version=\"1.0\"?>\n<resource-agent name=\"x\"><version>1.0</version>\
                       <longdesc lang=\"en\">l</longdesc><shortdesc lang=\"en\">s</shortdesc>\
                       <actions><action name=\"reload-agent\" timeout=\"5s\"/></actions></resource-agent>";

    #[test]
    #[ignore = "system: xmllint (libxml2-utils) + resource-agents' ra-api-1.dtd; run by scripts/test.sh"]
    fn rejects_what_the_dtd_forbids() {
        let err = validate(BAD, Schema::Dtd).unwrap_err();
        assert!(err.contains("reload-agent"), "{err}");
    }

    #[test]
    fn parameter_lists_compare_by_name_and_order() {
        let xml = "<resource-agent name=\"x\"><parameters>\
                   <parameter name=\"a\"><content type=\"string\"/></parameter>\
                   <parameter name=\"b\"><content type=\"string\"/></parameter>\
                   </parameters><actions/></resource-agent>";
        let meta = Metadata::parse(xml).unwrap();
        assert_eq!(lists_exactly(&meta, &["a", "b"]), Ok(()));
        for wrong in [&["a"][..], &["b", "a"], &["a", "b", "c"], &["a", "a"]] {
            assert!(lists_exactly(&meta, wrong).is_err(), "{wrong:?}");
        }
    }

    #[test]
    fn the_checker_and_the_tests_run_the_same_command() {
        assert_eq!(
            Schema::Dtd.command(),
            "meta-data | xmllint --noout --nonet --dtdvalid /usr/share/resource-agents/ra-api-1.dtd -"
        );
        assert_eq!(
            Schema::RelaxNg.command(),
            "meta-data | xmllint --noout --nonet --relaxng /usr/share/resource-agents/metadata.rng -"
        );
    }
}
