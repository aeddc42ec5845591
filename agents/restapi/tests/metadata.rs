//! `restapi meta-data` validates against resource-agents' DTD (what ocf-tester uses) and RNG, and
//! lists exactly the parameter table.

use ocf::Agent;

#[test]
fn valid_and_lists_exactly_the_parameter_table() {
    let names: Vec<&str> = restapi::RestApi::INFO.params.iter().map(|p| p.name).collect();
    if let Err(e) = ferroha_check::schema::check_agent(env!("CARGO_BIN_EXE_restapi"), &names) {
        panic!("{e}");
    }
}
