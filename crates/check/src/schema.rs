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
