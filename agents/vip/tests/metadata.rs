//! `vip meta-data` lists exactly the parameter table, and validates against resource-agents' DTD
//! (what ocf-tester uses) and RelaxNG schema (a system test: it needs xmllint and the schemas).

use ferroha_check::schema;
use ocf::Agent;

const VIP: &str = env!("CARGO_BIN_EXE_vip");

#[test]
fn lists_exactly_the_parameter_table() {
    let names: Vec<&str> = vip::Vip::INFO.params.iter().map(|p| p.name).collect();
    schema::lists_exactly_of(VIP, &names).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "system: xmllint + resource-agents' ra-api-1.dtd and metadata.rng; run by scripts/test.sh"]
fn validates_against_both_schemas() {
    schema::validate_agent(VIP).unwrap_or_else(|e| panic!("{e}"));
}
