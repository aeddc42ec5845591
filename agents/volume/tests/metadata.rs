//! `volume meta-data` validates against resource-agents' DTD (what ocf-tester uses) and RNG, and
//! lists exactly the parameter table.

use ocf::Agent;

#[test]
fn valid_and_lists_exactly_the_parameter_table() {
    let names: Vec<&str> = volume::Volume::INFO.params.iter().map(|p| p.name).collect();
    if let Err(e) = ferroha_check::schema::check_agent(env!("CARGO_BIN_EXE_volume"), &names) {
        panic!("{e}");
    }
}

#[test]
fn advertises_roles_notify_and_both_role_monitors() {
    let names: Vec<&str> = volume::Volume::INFO.params.iter().map(|p| p.name).collect();
    let xml = ferroha_check::schema::check_agent(env!("CARGO_BIN_EXE_volume"), &names)
        .unwrap_or_else(|e| panic!("{e}"));
    for action in ["promote", "demote", "notify"] {
        assert!(xml.contains(&format!("<action name=\"{action}\"")), "{action}");
    }
    assert!(xml.contains("role=\"Promoted\"") && xml.contains("role=\"Unpromoted\""));
}
