//! Meta-data schema validation for agents' own tests: the same two xmllint checks the checker's
//! `meta-data: DTD` and `meta-data: RelaxNG` steps make, as one call.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::checker::{DTD_PATH, RNG_PATH};

/// A schema resource-agents ships.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    /// `ra-api-1.dtd`, what ocf-tester validates against.
    Dtd,
    /// `metadata.rng`, what resource-agents' own `make check` uses.
    RelaxNg,
}

/// Validate meta-data XML with xmllint; `Err` carries xmllint's complaints (or why it could not
/// run: xmllint comes from Debian's libxml2-utils, the schemas from resource-agents).
pub fn validate(xml: &str, schema: Schema) -> Result<(), String> {
    let args: &[&str] = match schema {
        Schema::Dtd => &["--noout", "--nonet", "--dtdvalid", DTD_PATH, "-"],
        Schema::RelaxNg => &["--noout", "--relaxng", RNG_PATH, "-"],
    };
    let mut child = Command::new("xmllint")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run xmllint (Debian: libxml2-utils): {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(xml.as_bytes()).map_err(|e| format!("writing to xmllint: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("xmllint: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Everything the agents' meta-data tests check: `agent meta-data` (run with an empty
/// environment) exits 0, validates against both schemas, and lists each of `params` exactly once
/// and no other parameter. Returns the XML for further checks.
pub fn check_agent(agent: &str, params: &[&str]) -> Result<String, String> {
    let out = Command::new(agent)
        .arg("meta-data")
        .env_clear()
        .output()
        .map_err(|e| format!("cannot run {agent}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{agent} meta-data exited with {}", out.status));
    }
    let xml = String::from_utf8(out.stdout).map_err(|_| "meta-data is not UTF-8".to_owned())?;
    validate(&xml, Schema::Dtd).map_err(|e| format!("DTD: {e}"))?;
    validate(&xml, Schema::RelaxNg).map_err(|e| format!("RelaxNG: {e}"))?;
    let mut problems = Vec::new();
    for name in params {
        let n = xml.matches(&format!("<parameter name=\"{name}\"")).count();
        if n != 1 {
            problems.push(format!("parameter {name} is listed {n} times"));
        }
    }
    let listed = xml.matches("<parameter ").count();
    if listed != params.len() {
        problems.push(format!("{listed} parameters listed, the table has {}", params.len()));
    }
    if problems.is_empty() { Ok(xml) } else { Err(problems.join("; ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_what_the_dtd_forbids() {
        let bad = "<?xml version=\"1.0\"?>\n<resource-agent name=\"x\"><version>1.0</version>\
                   <longdesc lang=\"en\">l</longdesc><shortdesc lang=\"en\">s</shortdesc>\
                   <actions><action name=\"reload-agent\" timeout=\"5s\"/></actions></resource-agent>";
        let err = validate(bad, Schema::Dtd).unwrap_err();
        assert!(err.contains("reload-agent"), "{err}");
    }
}
