//! Meta-data XML generated from the agent's tables. The output validates against both
//! resource-agents' `ra-api-1.dtd` (what ocf-tester checks, DOCTYPE included) and its
//! `metadata.rng`; their intersection rules out `unique-group`, `reloadable`, `select` and the
//! `reload-agent` action name, so those 1.1 features are not advertised.

use std::io;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::param::{Kind, Param};

/// The role a meta-data `<action>` entry is for (role-specific monitors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetaRole {
    /// The promoted role.
    Promoted,
    /// The unpromoted role.
    Unpromoted,
}

impl MetaRole {
    /// As written in meta-data.
    pub fn name(self) -> &'static str {
        match self {
            MetaRole::Promoted => "Promoted",
            MetaRole::Unpromoted => "Unpromoted",
        }
    }
}

/// One `<action>` entry: the defaults Pacemaker tools offer for the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActionSpec {
    /// Action name.
    pub name: &'static str,
    /// Advertised timeout, seconds.
    pub timeout_s: u32,
    /// Advertised interval, seconds (recurring monitors).
    pub interval_s: Option<u32>,
    /// `OCF_CHECK_LEVEL` of this monitor.
    pub depth: Option<u32>,
    /// Role of this monitor.
    pub role: Option<MetaRole>,
}

impl ActionSpec {
    /// An action with a timeout.
    pub const fn new(name: &'static str, timeout_s: u32) -> ActionSpec {
        ActionSpec { name, timeout_s, interval_s: None, depth: None, role: None }
    }

    /// A recurring monitor.
    pub const fn monitor(timeout_s: u32, interval_s: u32) -> ActionSpec {
        ActionSpec {
            interval_s: Some(interval_s),
            depth: Some(0),
            ..ActionSpec::new("monitor", timeout_s)
        }
    }

    /// Restrict to a role.
    pub const fn role(self, role: MetaRole) -> ActionSpec {
        ActionSpec { role: Some(role), ..self }
    }
}

/// What an agent is: the source of its meta-data, usage text and man page.
#[derive(Clone, Copy, Debug)]
pub struct AgentInfo {
    /// Type name, as installed under `resource.d/ferroha/`.
    pub name: &'static str,
    /// Agent version.
    pub version: &'static str,
    /// One line.
    pub shortdesc: &'static str,
    /// Full description.
    pub longdesc: &'static str,
    /// The parameter table.
    pub params: &'static [Param],
    /// Advertised actions.
    pub actions: &'static [ActionSpec],
}

impl AgentInfo {
    /// The advertised timeout for `action` (the smallest, for several monitors).
    pub fn timeout_s(&self, action: &str) -> Option<u32> {
        self.actions.iter().filter(|a| a.name == action).map(|a| a.timeout_s).min()
    }

    /// Whether meta-data advertises `action`.
    pub fn advertises(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a.name == action)
    }
}

/// The long description of a parameter as published: select choices and defaults spelled out.
pub fn param_longdesc(p: &Param) -> String {
    let mut text = p.longdesc.to_owned();
    if let Kind::Select(choices) = p.kind {
        text.push_str(&format!(" One of: {}.", choices.join(", ")));
    }
    if let Kind::Integer { min, max } = p.kind {
        text.push_str(&format!(" Range: {min} to {max}."));
    }
    text
}

/// Render the meta-data XML.
pub fn render(info: &AgentInfo) -> String {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    // Writing into a Vec cannot fail; the io::Result comes from the generic writer.
    let _ = write(&mut w, info);
    let mut out = String::from_utf8_lossy(&w.into_inner()).into_owned();
    out.push('\n');
    out
}

fn text_element(w: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    w.create_element(name)
        .with_attribute(("lang", "en"))
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

fn write(w: &mut Writer<Vec<u8>>, info: &AgentInfo) -> io::Result<()> {
    w.write_event(Event::Decl(BytesDecl::new("1.0", None, None)))?;
    w.write_event(Event::DocType(BytesText::from_escaped(
        "resource-agent SYSTEM \"ra-api-1.dtd\"",
    )))?;
    w.create_element("resource-agent")
        .with_attribute(("name", info.name))
        .with_attribute(("version", info.version))
        .write_inner_content(|w| {
            w.create_element("version").write_text_content(BytesText::new("1.1"))?;
            text_element(w, "longdesc", info.longdesc)?;
            text_element(w, "shortdesc", info.shortdesc)?;
            w.create_element("parameters").write_inner_content(|w| {
                for p in info.params {
                    write_param(w, p)?;
                }
                Ok(())
            })?;
            w.create_element("actions").write_inner_content(|w| {
                for a in info.actions {
                    write_action(w, a)?;
                }
                Ok(())
            })?;
            Ok(())
        })?;
    Ok(())
}

fn write_param(w: &mut Writer<Vec<u8>>, p: &Param) -> io::Result<()> {
    w.create_element("parameter")
        .with_attribute(("name", p.name))
        .with_attribute(("unique", if p.unique { "1" } else { "0" }))
        .with_attribute(("required", if p.required { "1" } else { "0" }))
        .write_inner_content(|w| {
            text_element(w, "longdesc", &param_longdesc(p))?;
            text_element(w, "shortdesc", p.shortdesc)?;
            let content = w.create_element("content").with_attribute(("type", p.content_type()));
            match p.default {
                Some(d) => content.with_attribute(("default", d)).write_empty()?,
                None => content.write_empty()?,
            };
            Ok(())
        })?;
    Ok(())
}

fn write_action(w: &mut Writer<Vec<u8>>, a: &ActionSpec) -> io::Result<()> {
    let timeout = format!("{}s", a.timeout_s);
    let interval = a.interval_s.map(|i| format!("{i}s"));
    let depth = a.depth.map(|d| d.to_string());
    let mut e = w
        .create_element("action")
        .with_attribute(("name", a.name))
        .with_attribute(("timeout", timeout.as_str()));
    if let Some(i) = &interval {
        e = e.with_attribute(("interval", i.as_str()));
    }
    if let Some(d) = &depth {
        e = e.with_attribute(("depth", d.as_str()));
    }
    if let Some(r) = a.role {
        e = e.with_attribute(("role", r.name()));
    }
    e.write_empty()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARAMS: &[Param] = &[
        Param::string("ip").required().unique().desc("The <address>", "Tom & Jerry's \"ip\"."),
        Param::select("mode", &["a", "b"]).default("a").desc("mode", "The mode."),
    ];
    const ACTIONS: &[ActionSpec] = &[
        ActionSpec::new("start", 20),
        ActionSpec::monitor(20, 10),
        ActionSpec::monitor(20, 9).role(MetaRole::Promoted),
    ];
    pub(crate) const INFO: AgentInfo = AgentInfo {
        name: "test",
        version: "0.1.0",
        shortdesc: "A test agent",
        longdesc: "Long <text>.",
        params: PARAMS,
        actions: ACTIONS,
    };

    #[test]
    fn renders_doctype_and_escapes_text() {
        let xml = render(&INFO);
        assert!(xml.starts_with(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE resource-agent SYSTEM \"ra-api-1.dtd\">"
        ));
        assert!(xml.contains("<shortdesc lang=\"en\">The &lt;address&gt;</shortdesc>"), "{xml}");
        assert!(xml.contains("Tom &amp; Jerry"), "{xml}");
        assert!(xml.contains("<content type=\"string\" default=\"a\"/>"), "{xml}");
        assert!(xml.contains("One of: a, b."), "{xml}");
        assert!(xml.contains("<action name=\"monitor\" timeout=\"20s\" interval=\"9s\" depth=\"0\" role=\"Promoted\"/>"), "{xml}");
    }

    #[test]
    fn timeouts() {
        assert_eq!(INFO.timeout_s("monitor"), Some(20));
        assert_eq!(INFO.timeout_s("promote"), None);
        assert!(INFO.advertises("start") && !INFO.advertises("notify"));
    }
}
