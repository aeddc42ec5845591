//! `vip meta-data` validates against resource-agents' DTD (what ocf-tester uses) and RNG, and
//! lists exactly the parameter table.

use std::process::Command;

use ferroha_check::schema::{Schema, validate};
use ocf::Agent;

const VIP: &str = env!("CARGO_BIN_EXE_vip");

fn meta_data() -> String {
    let out = Command::new(VIP).arg("meta-data").env_clear().output().expect("run vip");
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
fn lists_every_parameter_once() {
    let xml = meta_data();
    for p in vip::Vip::INFO.params {
        let tag = format!("<parameter name=\"{}\"", p.name);
        assert_eq!(xml.matches(&tag).count(), 1, "{}", p.name);
    }
    assert_eq!(xml.matches("<parameter ").count(), vip::Vip::INFO.params.len());
}
