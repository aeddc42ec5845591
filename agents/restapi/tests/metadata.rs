//! `restapi meta-data` validates against resource-agents' DTD (what ocf-tester uses) and RNG, and
//! lists exactly the parameter table.

use std::io::Write;
use std::process::{Command, Stdio};

use ocf::Agent;

const RESTAPI: &str = env!("CARGO_BIN_EXE_restapi");

fn meta_data() -> String {
    let out = Command::new(RESTAPI).arg("meta-data").env_clear().output().expect("run restapi");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf-8")
}

fn xmllint(args: &[&str], xml: &str) -> (bool, String) {
    let mut child = Command::new("xmllint")
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("xmllint is installed by scripts/setup.sh (libxml2-utils)");
    child.stdin.take().expect("stdin").write_all(xml.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("xmllint");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn valid_against_ra_api_dtd() {
    let (ok, err) = xmllint(
        &["--noout", "--nonet", "--dtdvalid", "/usr/share/resource-agents/ra-api-1.dtd"],
        &meta_data(),
    );
    assert!(ok, "{err}");
}

#[test]
fn valid_against_metadata_rng() {
    let (ok, err) =
        xmllint(&["--noout", "--relaxng", "/usr/share/resource-agents/metadata.rng"], &meta_data());
    assert!(ok, "{err}");
}

#[test]
fn lists_every_parameter_once() {
    let xml = meta_data();
    for p in restapi::RestApi::INFO.params {
        let tag = format!("<parameter name=\"{}\"", p.name);
        assert_eq!(xml.matches(&tag).count(), 1, "{}", p.name);
    }
    assert_eq!(xml.matches("<parameter ").count(), restapi::RestApi::INFO.params.len());
}
