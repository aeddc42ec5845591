//! `volume meta-data` lists exactly the parameter table and the promotable actions, and
//! validates against resource-agents' DTD (what ocf-tester uses) and RelaxNG schema (a system
//! test: it needs xmllint and the schemas).

use ferroha_check::schema;
use ocf::Agent;

const VOLUME: &str = env!("CARGO_BIN_EXE_volume");

#[test]
fn lists_exactly_the_parameter_table_and_the_roles() {
    let names: Vec<&str> = volume::Volume::INFO.params.iter().map(|p| p.name).collect();
    let meta = schema::lists_exactly_of(VOLUME, &names).unwrap_or_else(|e| panic!("{e}"));
    assert!(meta.is_promotable() && meta.advertises("notify"), "{meta:?}");
    for role in ["Promoted", "Unpromoted"] {
        let monitor =
            meta.actions.iter().any(|a| a.name == "monitor" && a.role.as_deref() == Some(role));
        assert!(monitor, "no monitor for role {role}: {meta:?}");
    }
}

#[test]
#[ignore = "system: xmllint + resource-agents' ra-api-1.dtd and metadata.rng; run by scripts/test.sh"]
fn validates_against_both_schemas() {
    schema::validate_agent(VOLUME).unwrap_or_else(|e| panic!("{e}"));
}
