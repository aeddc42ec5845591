//! `volume meta-data` validates against resource-agents' DTD (what ocf-tester uses) and RNG, and
//! lists exactly the parameter table.

use std::process::Command;

use ferroha_check::schema::{Schema, validate};
use ocf::Agent;

const VOLUME: &str = env!("CARGO_BIN_EXE_volume");

fn meta_data() -> String {
    let out = Command::new(VOLUME).arg("meta-data").env_clear().output().expect("run volume");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn valid_against_ra_api_dtd() {
    if let Err(e) = validate(&meta_data(), Schema::Dtd) {
        panic!("{e}");
    }
}

#[test]
fn valid_against_metadata_rng() {
    if let Err(e) = validate(&meta_data(), Schema::RelaxNg) {
        panic!("{e}");
    }
}

#[test]
fn lists_every_parameter_once_and_both_role_monitors() {
    let xml = meta_data();
    for p in volume::Volume::INFO.params {
        let tag = format!("<parameter name=\"{}\"", p.name);
        assert_eq!(xml.matches(&tag).count(), 1, "{}", p.name);
    }
    assert_eq!(xml.matches("<parameter ").count(), volume::Volume::INFO.params.len());
    for action in ["promote", "demote", "notify"] {
        assert!(xml.contains(&format!("<action name=\"{action}\"")), "{action}");
    }
    assert!(xml.contains("role=\"Promoted\"") && xml.contains("role=\"Unpromoted\""));
}
