//! The parts of an agent's meta-data XML that drive the check sequence.
//!
//! The checker needs meta-data to decide *what* to run (required parameters, promote/demote) and *how
//! long* each action may take (advertised timeouts), so parsing is strict about those attributes and
//! ignores descriptions. Schema validity is xmllint's job (the checker's `validate_xml` step); this
//! module only reports contract problems a schema cannot express, via [`Metadata::problems`].

use std::time::Duration;

use crate::timeout::{TimeoutError, parse_timeout};

/// Timeout used for an action meta-data does not advertise; it is also Pacemaker's default op timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// Actions every OCF agent must implement (OCF 1.1, "Actions").
const MANDATORY_ACTIONS: [&str; 4] = ["start", "stop", "monitor", "meta-data"];

/// Why meta-data could not be turned into a [`Metadata`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The text is not well-formed XML.
    #[error("meta-data is not well-formed XML")]
    Xml(#[from] roxmltree::Error),
    /// The root element is not `<resource-agent>`.
    #[error("root element is <{0}>, not <resource-agent>")]
    WrongRoot(String),
    /// A mandatory element is missing.
    #[error("<resource-agent> has no <{0}> element")]
    MissingElement(&'static str),
    /// A mandatory attribute is missing or empty.
    #[error("<{element}> #{index} has no {attribute:?} attribute")]
    MissingAttribute {
        /// Element name.
        element: &'static str,
        /// 1-based position among its siblings of the same name.
        index: usize,
        /// Attribute name.
        attribute: &'static str,
    },
    /// `required=` or `unique=` is neither `0` nor `1`.
    #[error("parameter {parameter:?}: {attribute}={value:?} is not 0 or 1")]
    BadBoolean {
        /// Parameter name.
        parameter: String,
        /// Attribute name.
        attribute: &'static str,
        /// Attribute value.
        value: String,
    },
    /// A `timeout=` or `interval=` value cannot be read.
    #[error("action {action:?}: {attribute}={value:?} is not a duration")]
    BadDuration {
        /// Action name.
        action: String,
        /// Attribute name.
        attribute: &'static str,
        /// Attribute value.
        value: String,
        /// What is wrong with it.
        #[source]
        source: TimeoutError,
    },
}

/// An agent's meta-data, reduced to what the checker and tests need.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metadata {
    /// `<resource-agent name=…>`.
    pub name: String,
    /// `<resource-agent version=…>`: the agent's own version, if given.
    pub agent_version: Option<String>,
    /// `<version>`: the OCF API version the agent claims.
    pub ocf_version: Option<String>,
    /// `<parameters>`, in document order.
    pub parameters: Vec<Parameter>,
    /// `<actions>`, in document order (an action may appear several times, e.g. monitor per role).
    pub actions: Vec<Action>,
}

/// One `<parameter>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Parameter {
    /// `name=`.
    pub name: String,
    /// `required="1"`.
    pub required: bool,
    /// `unique="1"` (deprecated in OCF 1.1 in favour of `unique-group`).
    pub unique: bool,
    /// `<content type=…>`, e.g. `string`, `integer`, `boolean`, `select`.
    pub content_type: Option<String>,
    /// `<content default=…>`.
    pub default: Option<String>,
}

/// One `<action>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Action {
    /// `name=`.
    pub name: String,
    /// `timeout=`, parsed.
    pub timeout: Duration,
    /// `interval=`, parsed, if present.
    pub interval: Option<Duration>,
    /// `role=`, as written (`Promoted`, `Unpromoted`, or the old `Master`/`Slave`).
    pub role: Option<String>,
    /// `depth=`, as written.
    pub depth: Option<String>,
}

impl Metadata {
    /// Parses meta-data XML as printed by `<agent> meta-data`.
    ///
    /// A `<!DOCTYPE …>` line is accepted (DTD-clean 1.0-style agents print one) but not resolved.
    ///
    /// # Errors
    ///
    /// [`MetadataError`] when the XML is malformed, the root is wrong, `<actions>` is missing, or a
    /// name, boolean, timeout or interval attribute cannot be read.
    pub fn parse(xml: &str) -> Result<Self, MetadataError> {
        let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
        let doc = roxmltree::Document::parse_with_options(xml, options)?;
        let root = doc.root_element();
        if root.tag_name().name() != "resource-agent" {
            return Err(MetadataError::WrongRoot(root.tag_name().name().to_owned()));
        }
        let name = non_empty_attr(root, "name")
            .ok_or(MetadataError::MissingAttribute {
                element: "resource-agent",
                index: 1,
                attribute: "name",
            })?
            .to_owned();
        let ocf_version =
            child(root, "version").and_then(|v| v.text()).map(|t| t.trim().to_owned());

        let mut parameters = Vec::new();
        if let Some(list) = child(root, "parameters") {
            for (i, node) in children(list, "parameter").enumerate() {
                parameters.push(parse_parameter(node, i + 1)?);
            }
        }
        let list = child(root, "actions").ok_or(MetadataError::MissingElement("actions"))?;
        let mut actions = Vec::new();
        for (i, node) in children(list, "action").enumerate() {
            actions.push(parse_action(node, i + 1)?);
        }
        Ok(Self {
            name,
            agent_version: root.attribute("version").map(str::to_owned),
            ocf_version,
            parameters,
            actions,
        })
    }

    /// Whether any `<action name=…>` matches.
    pub fn advertises(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a.name == action)
    }

    /// The advertised timeout for `action`; with several entries (monitor per role or depth) the
    /// smallest, because any of those operations may be the one that runs.
    pub fn timeout(&self, action: &str) -> Option<Duration> {
        self.actions.iter().filter(|a| a.name == action).map(|a| a.timeout).min()
    }

    /// [`Metadata::timeout`], or [`DEFAULT_TIMEOUT`] for an action that is not advertised.
    pub fn timeout_or_default(&self, action: &str) -> Duration {
        self.timeout(action).unwrap_or(DEFAULT_TIMEOUT)
    }

    /// Parameters with `required="1"`.
    pub fn required_parameters(&self) -> impl Iterator<Item = &Parameter> {
        self.parameters.iter().filter(|p| p.required)
    }

    /// Whether both promote and demote are advertised.
    pub fn is_promotable(&self) -> bool {
        self.advertises("promote") && self.advertises("demote")
    }

    /// Contract problems that a schema does not catch: missing mandatory actions, and promote without
    /// demote or the other way round. Empty when there is nothing to complain about.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for action in MANDATORY_ACTIONS {
            if !self.advertises(action) {
                problems.push(format!("mandatory action {action:?} is not advertised"));
            }
        }
        match (self.advertises("promote"), self.advertises("demote")) {
            (true, false) => {
                problems.push("promote is advertised without demote (half promotable)".into())
            }
            (false, true) => {
                problems.push("demote is advertised without promote (half promotable)".into())
            }
            _ => {}
        }
        problems
    }
}

fn parse_parameter(
    node: roxmltree::Node<'_, '_>,
    index: usize,
) -> Result<Parameter, MetadataError> {
    let name = non_empty_attr(node, "name")
        .ok_or(MetadataError::MissingAttribute { element: "parameter", index, attribute: "name" })?
        .to_owned();
    let required = flag(node, &name, "required")?;
    let unique = flag(node, &name, "unique")?;
    let content = child(node, "content");
    Ok(Parameter {
        content_type: content.and_then(|c| c.attribute("type")).map(str::to_owned),
        default: content.and_then(|c| c.attribute("default")).map(str::to_owned),
        name,
        required,
        unique,
    })
}

fn parse_action(node: roxmltree::Node<'_, '_>, index: usize) -> Result<Action, MetadataError> {
    let name = non_empty_attr(node, "name")
        .ok_or(MetadataError::MissingAttribute { element: "action", index, attribute: "name" })?
        .to_owned();
    let timeout_text = node.attribute("timeout").ok_or(MetadataError::MissingAttribute {
        element: "action",
        index,
        attribute: "timeout",
    })?;
    let timeout = duration(&name, "timeout", timeout_text)?;
    let interval =
        node.attribute("interval").map(|v| duration(&name, "interval", v)).transpose()?;
    Ok(Action {
        timeout,
        interval,
        role: node.attribute("role").map(str::to_owned),
        depth: node.attribute("depth").map(str::to_owned),
        name,
    })
}

fn duration(action: &str, attribute: &'static str, value: &str) -> Result<Duration, MetadataError> {
    parse_timeout(value).map_err(|source| MetadataError::BadDuration {
        action: action.to_owned(),
        attribute,
        value: value.to_owned(),
        source,
    })
}

/// Reads a `0|1` attribute; absent means 0, as in the DTD.
fn flag(
    node: roxmltree::Node<'_, '_>,
    parameter: &str,
    attribute: &'static str,
) -> Result<bool, MetadataError> {
    match node.attribute(attribute) {
        None | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(other) => Err(MetadataError::BadBoolean {
            parameter: parameter.to_owned(),
            attribute,
            value: other.to_owned(),
        }),
    }
}

fn non_empty_attr<'a>(node: roxmltree::Node<'a, '_>, name: &str) -> Option<&'a str> {
    node.attribute(name).filter(|v| !v.trim().is_empty())
}

fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    children(node, name).next()
}

fn children<'a, 'i>(
    node: roxmltree::Node<'a, 'i>,
    name: &str,
) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
    node.children().filter(move |n| n.is_element() && n.tag_name().name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">
<resource-agent name="fixture" version="0.3">
<version>1.0</version>
<longdesc lang="en">Long.</longdesc>
<shortdesc lang="en">Short.</shortdesc>
<parameters>
<parameter name="ip" required="1" unique="1">
<longdesc lang="en">Address</longdesc><shortdesc lang="en">Address</shortdesc>
<content type="string"/>
</parameter>
<parameter name="cidr_netmask">
<longdesc lang="en">Prefix</longdesc><shortdesc lang="en">Prefix</shortdesc>
<content type="integer" default="24"/>
</parameter>
</parameters>
<actions>
<action name="start" timeout="20s"/>
<action name="stop" timeout="2m"/>
<action name="monitor" timeout="30s" interval="10s" role="Promoted"/>
<action name="monitor" timeout="15" interval="11s" role="Unpromoted" depth="0"/>
<action name="promote" timeout="500ms"/>
<action name="demote" timeout="10s"/>
<action name="meta-data" timeout="5s"/>
</actions>
</resource-agent>
"#;

    #[test]
    fn parses_fixture() {
        let md = Metadata::parse(FIXTURE).expect("fixture is valid");
        assert_eq!(md.name, "fixture");
        assert_eq!(md.agent_version.as_deref(), Some("0.3"));
        assert_eq!(md.ocf_version.as_deref(), Some("1.0"));
        assert_eq!(
            md.parameters,
            vec![
                Parameter {
                    name: "ip".into(),
                    required: true,
                    unique: true,
                    content_type: Some("string".into()),
                    default: None,
                },
                Parameter {
                    name: "cidr_netmask".into(),
                    required: false,
                    unique: false,
                    content_type: Some("integer".into()),
                    default: Some("24".into()),
                },
            ]
        );
        assert_eq!(md.required_parameters().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["ip"]);
        assert_eq!(md.actions.len(), 7);
        assert_eq!(md.actions[2].role.as_deref(), Some("Promoted"));
        assert_eq!(md.actions[3].depth.as_deref(), Some("0"));
        assert_eq!(md.actions[3].interval, Some(Duration::from_secs(11)));
        assert!(md.is_promotable());
        assert!(md.problems().is_empty(), "{:?}", md.problems());
    }

    #[test]
    fn timeouts_pick_smallest_and_default() {
        let md = Metadata::parse(FIXTURE).expect("fixture is valid");
        assert_eq!(md.timeout("monitor"), Some(Duration::from_secs(15)));
        assert_eq!(md.timeout("stop"), Some(Duration::from_secs(120)));
        assert_eq!(md.timeout("promote"), Some(Duration::from_millis(500)));
        assert_eq!(md.timeout("notify"), None);
        assert_eq!(md.timeout_or_default("notify"), DEFAULT_TIMEOUT);
    }

    #[test]
    fn reports_contract_problems() {
        let xml = r#"<resource-agent name="x"><version>1.1</version>
            <actions><action name="start" timeout="20s"/><action name="promote" timeout="5s"/></actions>
            </resource-agent>"#;
        let md = Metadata::parse(xml).expect("well-formed");
        assert!(md.parameters.is_empty());
        assert!(!md.is_promotable());
        assert_eq!(
            md.problems(),
            [
                "mandatory action \"stop\" is not advertised",
                "mandatory action \"monitor\" is not advertised",
                "mandatory action \"meta-data\" is not advertised",
                "promote is advertised without demote (half promotable)",
            ]
        );
    }

    #[test]
    fn rejects_unusable_metadata() {
        assert!(matches!(Metadata::parse("<resource-agent"), Err(MetadataError::Xml(_))));
        assert!(matches!(
            Metadata::parse("<agent name='x'/>"),
            Err(MetadataError::WrongRoot(root)) if root == "agent"
        ));
        assert!(matches!(
            Metadata::parse("<resource-agent name='x'/>"),
            Err(MetadataError::MissingElement("actions"))
        ));
        assert!(matches!(
            Metadata::parse("<resource-agent><actions/></resource-agent>"),
            Err(MetadataError::MissingAttribute {
                element: "resource-agent",
                attribute: "name",
                ..
            })
        ));
        let bad_timeout = "<resource-agent name='x'><actions>\
            <action name='start' timeout='20s'/><action name='stop' timeout='soon'/>\
            </actions></resource-agent>";
        match Metadata::parse(bad_timeout) {
            Err(MetadataError::BadDuration { action, attribute, value, .. }) => {
                assert_eq!(
                    (action.as_str(), attribute, value.as_str()),
                    ("stop", "timeout", "soon")
                );
            }
            other => panic!("expected BadDuration, got {other:?}"),
        }
        let no_timeout = "<resource-agent name='x'><actions><action name='start'/></actions>\
            </resource-agent>";
        assert!(matches!(
            Metadata::parse(no_timeout),
            Err(MetadataError::MissingAttribute {
                element: "action",
                index: 1,
                attribute: "timeout"
            })
        ));
        let bad_flag = "<resource-agent name='x'><parameters>\
            <parameter name='p' required='yes'/></parameters><actions/></resource-agent>";
        assert!(matches!(
            Metadata::parse(bad_flag),
            Err(MetadataError::BadBoolean { attribute: "required", .. })
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn leak(s: String) -> &'static str {
            Box::leak(s.into_boxed_str())
        }

        /// Text XML 1.0 allows (no other control characters).
        const XML_TEXT: &str = "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{0,40}";

        fn param() -> impl Strategy<Value = ocf::Param> {
            (
                "[a-z_][a-z0-9_]{0,8}",
                any::<bool>(),
                any::<bool>(),
                prop::option::of("[^\u{0}-\u{1f}\u{fffe}\u{ffff}]{0,12}"),
                XML_TEXT,
                XML_TEXT,
            )
                .prop_map(|(name, required, unique, default, short, long)| {
                    let mut p = ocf::Param::string(leak(name)).desc(leak(short), leak(long));
                    if required {
                        p = p.required();
                    }
                    if unique {
                        p = p.unique();
                    }
                    match default {
                        Some(d) => p.default(leak(d)),
                        None => p,
                    }
                })
        }

        fn action() -> impl Strategy<Value = ocf::ActionSpec> {
            (
                prop::sample::select(&["start", "stop", "monitor", "promote", "demote", "notify", "reload-agent"][..]),
                0u32..100_000,
                prop::option::of(0u32..100_000),
            )
                .prop_map(|(name, timeout, interval)| match interval {
                    Some(i) if name == "monitor" => ocf::ActionSpec::monitor(timeout, i),
                    _ => ocf::ActionSpec::new(name, timeout),
                })
        }

        proptest! {
            #[test]
            fn any_text_is_meta_data_or_refused(xml in any::<String>()) {
                let _ = Metadata::parse(&xml);
            }

            /// What the agents' renderer (ocf::metadata) writes, with any descriptions and
            /// defaults, this independent parser reads back: names, flags, defaults, timeouts.
            #[test]
            fn rendered_meta_data_reads_back(
                name in "[a-z][a-z0-9_-]{0,10}",
                (short, long) in (XML_TEXT, XML_TEXT),
                params in prop::collection::vec(param(), 0..5),
                actions in prop::collection::vec(action(), 0..6),
            ) {
                let info = ocf::AgentInfo {
                    name: leak(name.clone()),
                    version: "1.0",
                    shortdesc: leak(short),
                    longdesc: leak(long),
                    params: Box::leak(params.clone().into_boxed_slice()),
                    actions: Box::leak(actions.clone().into_boxed_slice()),
                };
                let xml = ocf::metadata::render(&info);
                let meta = Metadata::parse(&xml);
                prop_assert!(meta.is_ok(), "{:?}\n{xml}", meta);
                let meta = meta.unwrap();
                prop_assert_eq!(&meta.name, &name);
                prop_assert_eq!(meta.parameters.len(), params.len());
                for (got, p) in meta.parameters.iter().zip(&params) {
                    prop_assert_eq!(got.name.as_str(), p.name);
                    prop_assert_eq!((got.required, got.unique), (p.required, p.unique));
                    prop_assert_eq!(got.default.as_deref(), p.default);
                }
                prop_assert_eq!(meta.actions.len(), actions.len());
                for (got, a) in meta.actions.iter().zip(&actions) {
                    prop_assert_eq!(got.name.as_str(), a.name);
                    prop_assert_eq!(got.timeout, Duration::from_secs(a.timeout_s.into()));
                    prop_assert_eq!(got.interval, a.interval_s.map(|i| Duration::from_secs(i.into())));
                }
            }
        }
    }
}
