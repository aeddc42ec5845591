//! Documentation generated from, or checked against, the agent's tables: the man page, and the
//! parameter table of `docs/agents/<agent>.md`.

use crate::metadata::{AgentInfo, param_longdesc};

/// roff-escape one line of text.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Render the section-7 man page `ocf_ferroha_<agent>(7)`.
pub fn man_page(info: &AgentInfo) -> String {
    let title = format!("OCF_FERROHA_{}", info.name.to_ascii_uppercase());
    let mut m = String::new();
    m.push_str(&format!(
        ".TH {title} 7 \"\" \"ferroha {}\" \"OCF resource agents\"\n",
        info.version
    ));
    m.push_str(".SH NAME\n");
    m.push_str(&format!("ocf_ferroha_{} \\- {}\n", info.name, roff(info.shortdesc)));
    m.push_str(".SH SYNOPSIS\n");
    m.push_str(&format!(
        "\\fBOCF_RESKEY_\\fIparam\\fB=\\fIvalue\\fR ... \\fB/usr/lib/ocf/resource.d/ferroha/{}\\fR \\fIaction\\fR\n",
        info.name
    ));
    m.push_str(".SH DESCRIPTION\n");
    for para in info.longdesc.split("\n\n") {
        m.push_str(&format!("{}\n.PP\n", roff(&para.replace('\n', " "))));
    }
    m.push_str(".SH PARAMETERS\n");
    for p in info.params {
        let mut head = format!("\\fB{}\\fR", roff(p.name));
        if p.required {
            head.push_str(" (required)");
        }
        if p.unique {
            head.push_str(" (unique)");
        }
        head.push_str(&format!(", {}", p.content_type()));
        if let Some(d) = p.default {
            head.push_str(&format!(", default \\fI{}\\fR", roff(d)));
        }
        m.push_str(&format!(
            ".TP\n{head}\n{}. {}\n",
            roff(p.shortdesc.trim_end_matches('.')),
            roff(&param_longdesc(p))
        ));
    }
    m.push_str(".SH ACTIONS\n");
    for a in info.actions {
        let mut line = format!("\\fB{}\\fR timeout {}s", a.name, a.timeout_s);
        if let Some(i) = a.interval_s {
            line.push_str(&format!(", interval {i}s"));
        }
        if let Some(r) = a.role {
            line.push_str(&format!(", role {}", r.name()));
        }
        m.push_str(&format!(".TP\n{line}\n"));
    }
    m.push_str(".SH EXIT STATUS\n");
    m.push_str("0 success, 1 generic error, 2 invalid arguments on this host, 3 unimplemented action, \
4 insufficient privilege, 5 software not installed, 6 configuration invalid, 7 not running, \
8 running promoted, 9 failed promoted. A failure prints one line \\fBocf\\-exit\\-reason:\\fR\\fItext\\fR on standard error.\n");
    m.push_str(".SH SEE ALSO\n");
    m.push_str(&format!(
        "\\fBcrm\\fR(8), \\fBpcs\\fR(8), \\fBocf\\-tester\\fR(8), \\fBferroha\\-check\\fR(1); /usr/share/doc/ferroha/agents/{}.md\n",
        info.name
    ));
    m
}

/// Parameter names listed in the first column of a Markdown table whose header starts with
/// `| parameter`, each written as `` `name` ``; used by each agent's docs-sync test.
pub fn markdown_params(md: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut in_table = false;
    for line in md.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if cells.first().is_some_and(|c| c.eq_ignore_ascii_case("parameter")) {
            in_table = true;
            continue;
        }
        if in_table {
            let name = cells.first().map(|c| c.trim_matches('`')).unwrap_or("");
            if name.is_empty() || name.starts_with("---") {
                continue;
            }
            let default = cells.get(1).map(|c| c.trim_matches('`').to_owned()).unwrap_or_default();
            out.push((name.to_owned(), default));
        }
    }
    out
}

/// Compare a doc's parameter table with the agent's table: every parameter documented once, with
/// the same default (the doc writes `—` or leaves the cell empty when there is none).
pub fn check_docs(info: &AgentInfo, md: &str) -> Result<(), String> {
    let documented = markdown_params(md);
    let mut problems = Vec::new();
    for p in info.params {
        let rows: Vec<&(String, String)> = documented.iter().filter(|(n, _)| n == p.name).collect();
        match rows.as_slice() {
            [] => problems.push(format!("parameter '{}' is not documented", p.name)),
            [(_, d)] => {
                let want = p.default.unwrap_or("");
                let got = if d == "—" || d == "-" { "" } else { d.as_str() };
                if got != want {
                    problems.push(format!(
                        "parameter '{}': doc default '{got}', table default '{want}'",
                        p.name
                    ));
                }
            }
            _ => problems.push(format!("parameter '{}' is documented twice", p.name)),
        }
    }
    for (n, _) in &documented {
        if !info.params.iter().any(|p| p.name == n) {
            problems.push(format!("doc lists '{n}', which is not a parameter"));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::ActionSpec;
    use crate::param::Param;

    const INFO: AgentInfo = AgentInfo {
        name: "t",
        version: "1",
        shortdesc: "short",
        longdesc: ".dot first\n\nsecond \\ para",
        params: &[
            Param::string("ip").required().desc("IP", "The ip-address."),
            Param::integer("n", 0, 9).default("5").desc("n", "N."),
        ],
        actions: &[ActionSpec::new("start", 20)],
    };

    #[test]
    fn man_page_escapes() {
        let m = man_page(&INFO);
        assert!(m.starts_with(".TH OCF_FERROHA_T 7"));
        assert!(m.contains("\\&.dot first"), "{m}");
        assert!(m.contains("second \\e para"), "{m}");
        assert!(m.contains("ip\\-address"), "{m}");
        assert!(m.contains("\\fBn\\fR, integer, default \\fI5\\fR"), "{m}");
    }

    #[test]
    fn docs_check_finds_drift() {
        let good = "| parameter | default | meaning |\n|---|---|---|\n| `ip` | — | x |\n| `n` | `5` | y |\n";
        assert_eq!(check_docs(&INFO, good), Ok(()));
        let bad = "| parameter | default |\n|---|---|\n| `ip` | | x |\n| `n` | 6 |\n| `old` | |\n";
        let err = check_docs(&INFO, bad).unwrap_err();
        assert!(err.contains("parameter 'n': doc default '6', table default '5'"), "{err}");
        assert!(err.contains("doc lists 'old'"), "{err}");
        let missing = "| parameter | default |\n|---|---|\n| `ip` | |\n";
        assert!(check_docs(&INFO, missing).unwrap_err().contains("'n' is not documented"));
    }
}
