//! The agent's parameters as the cluster holds them: the `ocf:ferroha:mariadb` primitives of
//! the CIB's resources section (`cibadmin --query --scope resources`, which also reads a file
//! named by `CIB_file`), so that the command works with the values Pacemaker gives the agent.

/// One `ocf:ferroha:mariadb` primitive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Resource {
    /// The primitive's id (e.g. `db`).
    pub(crate) id: String,
    /// The id of the clone around it, if any (e.g. `db-clone`).
    pub(crate) clone: Option<String>,
    /// Its instance attributes, as name/value pairs.
    pub(crate) params: Vec<(String, String)>,
}

/// Every `ocf:ferroha:mariadb` primitive in `xml`. Instance attributes with rules (values that
/// depend on the node or the time) are refused: this command cannot evaluate them.
pub(crate) fn mariadb_resources(xml: &str) -> Result<Vec<Resource>, String> {
    let doc =
        roxmltree::Document::parse(xml).map_err(|e| format!("the CIB does not parse: {e}"))?;
    let mut out = Vec::new();
    for p in doc.descendants().filter(|n| n.has_tag_name("primitive")) {
        let attr = |k: &str| p.attribute(k).unwrap_or("");
        if (attr("class"), attr("provider"), attr("type")) != ("ocf", "ferroha", "mariadb") {
            continue;
        }
        let id = attr("id").to_owned();
        let clone = p
            .parent_element()
            .filter(|c| c.has_tag_name("clone") || c.has_tag_name("master"))
            .and_then(|c| c.attribute("id"))
            .map(str::to_owned);
        let mut params: Vec<(String, String)> = Vec::new();
        for set in p.children().filter(|n| n.has_tag_name("instance_attributes")) {
            if set.children().any(|n| n.has_tag_name("rule")) {
                return Err(format!(
                    "resource {id}: instance attributes with rules are not supported; give the \
                     parameters with --param (and --no-cib)"
                ));
            }
            for nv in set.children().filter(|n| n.has_tag_name("nvpair")) {
                let (Some(name), Some(value)) = (nv.attribute("name"), nv.attribute("value"))
                else {
                    return Err(format!(
                        "resource {id}: an nvpair without name and value (id-ref?) is not supported"
                    ));
                };
                if params.iter().any(|(n, v)| n == name && v != value) {
                    return Err(format!("resource {id}: parameter '{name}' is set twice"));
                }
                params.push((name.to_owned(), value.to_owned()));
            }
        }
        out.push(Resource { id, clone, params });
    }
    Ok(out)
}

/// The primitive `wanted`, or the only one.
pub(crate) fn pick(all: Vec<Resource>, wanted: Option<&str>) -> Result<Resource, String> {
    let ids = || all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", ");
    match wanted {
        Some(w) => all.iter().find(|r| r.id == w).cloned().ok_or_else(|| {
            format!("no ocf:ferroha:mariadb primitive '{w}' in the CIB (there are: {})", ids())
        }),
        None if all.len() == 1 => Ok(all.into_iter().next().expect("one")),
        None if all.is_empty() => {
            Err("the CIB holds no ocf:ferroha:mariadb primitive (use --no-cib and --param)".into())
        }
        None => Err(format!(
            "the CIB holds several mariadb primitives ({}): name one with --resource",
            ids()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CIB: &str = r#"<resources>
  <primitive id="vip" class="ocf" provider="ferroha" type="vip">
    <instance_attributes id="vip-ia"><nvpair id="a" name="ip" value="192.0.2.1"/></instance_attributes>
  </primitive>
  <clone id="db-clone">
    <meta_attributes id="m"><nvpair id="m1" name="promotable" value="true"/></meta_attributes>
    <primitive id="db" class="ocf" provider="ferroha" type="mariadb">
      <instance_attributes id="db-ia">
        <nvpair id="db-1" name="replication_user" value="repl"/>
        <nvpair id="db-2" name="node_map" value="n1=10.0.0.1 n2=10.0.0.2"/>
      </instance_attributes>
      <operations><op id="o" name="monitor" interval="10s"/></operations>
    </primitive>
  </clone>
  <primitive id="other" class="ocf" provider="heartbeat" type="mariadb"/>
</resources>"#;

    #[test]
    fn finds_the_mariadb_primitive_and_its_clone() {
        let all = mariadb_resources(CIB).unwrap();
        assert_eq!(all.len(), 1);
        let r = pick(all, None).unwrap();
        assert_eq!(r.id, "db");
        assert_eq!(r.clone.as_deref(), Some("db-clone"));
        assert_eq!(
            r.params,
            [
                ("replication_user".into(), "repl".into()),
                ("node_map".into(), "n1=10.0.0.1 n2=10.0.0.2".into())
            ]
        );
    }

    #[test]
    fn picking() {
        let two = CIB.replace(
            "<primitive id=\"other\" class=\"ocf\" provider=\"heartbeat\"",
            "<primitive id=\"db2\" class=\"ocf\" provider=\"ferroha\"",
        );
        let all = mariadb_resources(&two).unwrap();
        let e = pick(all.clone(), None).unwrap_err();
        assert!(e.contains("several mariadb primitives (db, db2)"), "{e}");
        assert_eq!(pick(all.clone(), Some("db2")).unwrap().clone, None);
        assert!(
            pick(all, Some("nope"))
                .unwrap_err()
                .contains("no ocf:ferroha:mariadb primitive 'nope'")
        );
        assert!(pick(Vec::new(), None).unwrap_err().contains("holds no ocf:ferroha:mariadb"));
    }

    #[test]
    fn refuses_what_it_cannot_evaluate() {
        let rules = CIB.replace(
            "<nvpair id=\"db-1\"",
            "<rule id=\"r\" score=\"0\"><expression id=\"e\" attribute=\"#uname\" operation=\"eq\" value=\"n1\"/></rule><nvpair id=\"db-1\"",
        );
        assert!(mariadb_resources(&rules).unwrap_err().contains("rules are not supported"));
        let twice = CIB.replace(
            "value=\"n1=10.0.0.1 n2=10.0.0.2\"",
            "value=\"x\"/><nvpair id=\"db-3\" name=\"node_map\" value=\"y\"",
        );
        assert!(mariadb_resources(&twice).unwrap_err().contains("'node_map' is set twice"));
        assert!(mariadb_resources("<resources").unwrap_err().contains("does not parse"));
    }
}
