//! Pure parsers, tested on inputs: the environment file and the health URLs. Nothing here
//! touches the system.

/// A parse failure, with the sentence the agent reports.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ParseError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError(msg.into()))
}

/// Parse an environment file: `KEY=VALUE` lines, optional `export ` prefix, `#` comments and
/// blank lines skipped, a value wrapped in matching `'` or `"` is unquoted (nothing else is
/// interpreted). Keys must be `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, ParseError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return err(format!("line {}: expected KEY=VALUE", i + 1));
        };
        let key = key.trim_end();
        let valid = key.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return err(format!("line {}: '{key}' is not a variable name", i + 1));
        }
        let value = value.trim();
        let value = match value.as_bytes() {
            [q @ (b'"' | b'\''), .., last] if q == last && value.len() >= 2 => {
                &value[1..value.len() - 1]
            }
            [b'"' | b'\'', ..] => return err(format!("line {}: unterminated quote", i + 1)),
            _ => value,
        };
        out.push((key.to_owned(), value.to_owned()));
    }
    Ok(out)
}

/// A checked health URL, `http://` or `https://`, in the form it is requested in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HealthUrl {
    /// The parser's serialization (scheme and host lower-cased, default port dropped, the
    /// path percent-encoded): the exact text the request is made from and reasons show.
    text: String,
    /// The host as a certificate must name it (no brackets around an IPv6 address).
    host: String,
    /// `https://`.
    tls: bool,
}

impl HealthUrl {
    /// The URL to request.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    /// The host, for messages (an IPv6 address without brackets).
    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    /// Whether the check goes over TLS.
    pub(crate) fn is_https(&self) -> bool {
        self.tls
    }
}

impl std::fmt::Display for HealthUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Check a health URL with a URL parser (the `url` crate: the WHATWG URL Standard), strictly:
/// every leniency the standard allows (a missing `//`, a backslash, a space, a tab) is refused
/// rather than silently repaired, so what is checked is what the operator wrote. Only `http`
/// and `https`, a host (an IP address, or a valid DNS name), a port from 1 to 65535, no credentials (they would show in logs and in
/// the CIB), no fragment (never sent to a server). The reason is one clause that says what is
/// wrong; the URL is quoted in it unless it may hold a password.
pub(crate) fn parse_url(s: &str) -> Result<HealthUrl, ParseError> {
    let s = s.trim();
    let bad = |why: &str| match s.contains('@') {
        true => err(format!("the URL (not quoted: it holds an '@') is not valid: {why}")),
        false => err(format!("'{s}' is not a valid URL: {why}")),
    };
    let credentials = || err("must not carry credentials (user:password@)");
    let violation = std::cell::Cell::new(None);
    let record = |v| {
        if violation.get().is_none() {
            violation.set(Some(v));
        }
    };
    let parsed = url::Url::options().syntax_violation_callback(Some(&record)).parse(s);
    let url = match parsed {
        Ok(url) => url,
        Err(_) if bare_ipv6(s) => return bad("an IPv6 address must be written in [brackets]"),
        Err(e) => return bad(parse_error_reason(e)),
    };
    match violation.get() {
        Some(url::SyntaxViolation::EmbeddedCredentials | url::SyntaxViolation::UnencodedAtSign) => {
            return credentials();
        }
        Some(v) => return bad(violation_reason(v)),
        None => {}
    }
    let tls = match url.scheme() {
        "http" => false,
        "https" => true,
        other => {
            return bad(&format!(
                "it must start with http:// or https:// (the scheme is '{other}:')"
            ));
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        return credentials();
    }
    if url.fragment().is_some() {
        return bad("a fragment (#...) is never sent to the server; remove it");
    }
    if url.port() == Some(0) {
        return bad("port 0 cannot be connected to");
    }
    let host = match url.host() {
        None => return bad("it has no host"),
        Some(url::Host::Ipv4(a)) => {
            // The standard reads 127.1, 0x7f.0.0.1 and 2130706433 as 127.0.0.1: accept only
            // the dotted-quad spelling, so the address is the one that is written.
            let after = s.split_once("://").map_or("", |(_, r)| r);
            let dotted = a.to_string();
            let rest = after.strip_prefix(dotted.as_str());
            if !rest.is_some_and(|r| r.is_empty() || r.starts_with([':', '/', '?'])) {
                return bad(&format!("write the IPv4 address as four decimal numbers ({a})"));
            }
            dotted
        }
        Some(url::Host::Ipv6(a)) => a.to_string(),
        Some(url::Host::Domain(d)) => {
            // The standard takes any domain; a name must also be one DNS (and a certificate)
            // can hold: labels of 1 to 63 characters, no '-' at either end.
            if rustls::pki_types::DnsName::try_from(d).is_err() {
                return bad(&format!("'{d}' is not a valid DNS name"));
            }
            d.to_owned()
        }
    };
    Ok(HealthUrl { text: url.into(), host, tls })
}

/// Whether the authority looks like an IPv6 address without its brackets (`http://::1/`),
/// which the parser reads as a host and a port and refuses with a misleading reason.
fn bare_ipv6(s: &str) -> bool {
    let rest = s.split_once("://").map_or("", |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    authority.matches(':').count() >= 2
        && authority.chars().all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
}

fn parse_error_reason(e: url::ParseError) -> &'static str {
    use url::ParseError as E;
    match e {
        E::EmptyHost => "it has no host",
        E::InvalidPort => "the port is not a number from 1 to 65535",
        E::InvalidIpv4Address => "the host is not a valid IPv4 address",
        E::InvalidIpv6Address => "the IPv6 address in [brackets] is malformed or not closed",
        E::InvalidDomainCharacter | E::IdnaError => {
            "the host is not a valid host name (letters, digits, '-' and '.')"
        }
        E::RelativeUrlWithoutBase => "it must start with http:// or https://",
        _ => "it cannot be parsed",
    }
}

fn violation_reason(v: url::SyntaxViolation) -> &'static str {
    use url::SyntaxViolation as V;
    match v {
        V::Backslash => "it contains a backslash (use /)",
        V::C0SpaceIgnored => "it contains a control character",
        V::TabOrNewlineIgnored => "it contains a tab or a line break",
        V::ExpectedDoubleSlash => "the scheme must be followed by //",
        V::NonUrlCodePoint => {
            "it contains a character that must be percent-encoded (a space, a quote, <, >, \\, \
             ^, `, {, | or })"
        }
        V::PercentDecode => "a % is not followed by two hexadecimal digits",
        _ => "it is not written the way the URL Standard requires",
    }
}

/// The CA certificates of a PEM file (other PEM items, such as keys, are ignored): at least
/// one, and each one usable as a trust anchor.
pub(crate) fn ca_certificates(
    pem: &[u8],
) -> Result<Vec<ureq::tls::Certificate<'static>>, ParseError> {
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => return err(format!("not a valid PEM file ({e})")),
        }
    }
    if certs.is_empty() {
        return err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    let mut store = rustls::RootCertStore::empty();
    for (i, c) in certs.iter().enumerate() {
        if let Err(e) = store.add(rustls::pki_types::CertificateDer::from(c.der())) {
            return err(format!("certificate {} cannot be used as a CA ({e})", i + 1));
        }
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_files() {
        let text = "# c\n\nA=1\nexport B = two words \nC='x=y'\nD=\"q\"\nE=\n";
        assert_eq!(
            parse_env_file(text).unwrap(),
            [
                ("A".into(), "1".into()),
                ("B".into(), "two words".into()),
                ("C".into(), "x=y".into()),
                ("D".into(), "q".into()),
                ("E".into(), String::new())
            ]
        );
        assert_eq!(parse_env_file("A").unwrap_err().0, "line 1: expected KEY=VALUE");
        assert_eq!(parse_env_file("\n1A=2").unwrap_err().0, "line 2: '1A' is not a variable name");
        assert_eq!(parse_env_file("A='x").unwrap_err().0, "line 1: unterminated quote");
    }

    /// Every malformed URL gets a reason that says what is wrong.
    #[test]
    fn bad_urls_and_their_reasons() {
        let cases: &[(&str, &str)] = &[
            ("http://[::1:80/", "the IPv6 address in [brackets] is malformed or not closed"),
            ("http://[::1/", "the IPv6 address in [brackets] is malformed or not closed"),
            ("http://[::g]/", "the IPv6 address in [brackets] is malformed or not closed"),
            (
                "http://[fe80::1%25eth0]/",
                "the IPv6 address in [brackets] is malformed or not closed",
            ),
            ("http://::1/", "an IPv6 address must be written in [brackets]"),
            ("http://fe80::1:8080/", "an IPv6 address must be written in [brackets]"),
            ("http://127.0.0.1:99999/", "the port is not a number from 1 to 65535"),
            ("http://127.0.0.1:65536/", "the port is not a number from 1 to 65535"),
            ("http://127.0.0.1:8a/", "the port is not a number from 1 to 65535"),
            ("http://127.0.0.1:-1/", "the port is not a number from 1 to 65535"),
            ("http://h:80:90/", "the port is not a number from 1 to 65535"),
            ("http://127.0.0.1:0/", "port 0 cannot be connected to"),
            ("http://999.1.1.1/", "the host is not a valid IPv4 address"),
            ("http://1.2.3.4.5/", "the host is not a valid IPv4 address"),
            ("http://127.1/", "write the IPv4 address as four decimal numbers (127.0.0.1)"),
            ("http://0x7f.0.0.1/", "write the IPv4 address as four decimal numbers (127.0.0.1)"),
            ("http://2130706433/", "write the IPv4 address as four decimal numbers (127.0.0.1)"),
            ("http://", "it has no host"),
            ("http://:80/", "it has no host"),
            ("http://?x", "it has no host"),
            ("http:///x", "the scheme must be followed by //"),
            ("http:/x/", "the scheme must be followed by //"),
            ("http:x", "the scheme must be followed by //"),
            ("ftp://x/", "it must start with http:// or https:// (the scheme is 'ftp:')"),
            (
                "file:///etc/passwd",
                "it must start with http:// or https:// (the scheme is 'file:')",
            ),
            (
                "localhost:8080/ready",
                "it must start with http:// or https:// (the scheme is 'localhost:')",
            ),
            ("127.0.0.1:80", "it must start with http:// or https://"),
            ("/ready", "it must start with http:// or https://"),
            ("", "it must start with http:// or https://"),
            (
                "http://h/a b",
                "it contains a character that must be percent-encoded (a space, a quote, <, >, \\, ^, `, {, | or })",
            ),
            (
                "http://h/\"x\"",
                "it contains a character that must be percent-encoded (a space, a quote, <, >, \\, ^, `, {, | or })",
            ),
            (
                "http://h/{x}",
                "it contains a character that must be percent-encoded (a space, a quote, <, >, \\, ^, `, {, | or })",
            ),
            ("http://h\\x/", "it contains a backslash (use /)"),
            ("http://h/a\tb", "it contains a tab or a line break"),
            ("http://h/a\nb", "it contains a tab or a line break"),
            ("http://h/%zz", "a % is not followed by two hexadecimal digits"),
            ("http://h/#top", "a fragment (#...) is never sent to the server; remove it"),
            ("http://a b/", "the host is not a valid host name (letters, digits, '-' and '.')"),
            ("http://a<b/", "the host is not a valid host name (letters, digits, '-' and '.')"),
            ("http://a%/", "the host is not a valid host name (letters, digits, '-' and '.')"),
            ("http://a..b/", "'a..b' is not a valid DNS name"),
            ("https://-a/", "'-a' is not a valid DNS name"),
            ("http://a-/", "'a-' is not a valid DNS name"),
            ("https://a.b-/", "'a.b-' is not a valid DNS name"),
            ("http://1a.2/", "the host is not a valid IPv4 address"),
        ];
        let mut wrong = Vec::new();
        for (url, why) in cases {
            let got = parse_url(url).map_err(|e| e.0);
            if got != Err(format!("'{url}' is not a valid URL: {why}")) {
                wrong.push(format!("{url:?}: {got:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn credentials_are_refused_without_echoing_them() {
        for url in ["http://u:p@h/", "http://u@h/", "http://:secret@h/", "https://u:p@[::1]:8/"] {
            let e = parse_url(url).unwrap_err().0;
            assert_eq!(e, "must not carry credentials (user:password@)", "{url}");
        }
        // An @ elsewhere than in the authority is fine, but no URL with an @ is quoted.
        assert_eq!(parse_url("http://h/a@b").unwrap().as_str(), "http://h/a@b");
        assert_eq!(
            parse_url("http://u:secret@h:x/").unwrap_err().0,
            "the URL (not quoted: it holds an '@') is not valid: the port is not a number from 1 \
             to 65535"
        );
    }

    /// What is accepted, in the form it is requested in.
    #[test]
    fn good_urls_and_their_normal_form() {
        let cases: &[(&str, &str, &str, bool)] = &[
            ("http://127.0.0.1:8080/ready", "http://127.0.0.1:8080/ready", "127.0.0.1", false),
            (" http://[::1]/h ", "http://[::1]/h", "::1", false),
            ("http://[::1]:8080/h?x=1", "http://[::1]:8080/h?x=1", "::1", false),
            ("http://[0:0::1]/", "http://[::1]/", "::1", false),
            ("https://127.0.0.1:8443/health", "https://127.0.0.1:8443/health", "127.0.0.1", true),
            ("https://[::1]/", "https://[::1]/", "::1", true),
            (
                "HTTPS://API.Example.COM/Ready",
                "https://api.example.com/Ready",
                "api.example.com",
                true,
            ),
            ("http://localhost", "http://localhost/", "localhost", false),
            ("http://localhost:80/x", "http://localhost/x", "localhost", false),
            ("https://localhost:443/x", "https://localhost/x", "localhost", true),
            ("http://h?x=1", "http://h/?x=1", "h", false),
            ("http://h/%41", "http://h/%41", "h", false),
            ("http://h/caf\u{e9}", "http://h/caf%C3%A9", "h", false),
            (
                "http://b\u{fc}cher.example/",
                "http://xn--bcher-kva.example/",
                "xn--bcher-kva.example",
                false,
            ),
            (
                "http://node-1.cluster.local:65535/",
                "http://node-1.cluster.local:65535/",
                "node-1.cluster.local",
                false,
            ),
            ("http://h:1/", "http://h:1/", "h", false),
        ];
        for (input, text, host, tls) in cases {
            let u = parse_url(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!((u.as_str(), u.host(), u.is_https()), (*text, *host, *tls), "{input}");
        }
    }

    /// Generated URLs (every combination of the parts below): a URL is accepted exactly when
    /// each of its parts is good, and what is accepted is what ureq (through the `http`
    /// crate's URI parser) connects to: same scheme, host and port.
    #[test]
    fn generated_urls_agree_with_the_request_parser() {
        let schemes = [("http://", true), ("https://", true), ("ftp://", false), ("http:", false)];
        let hosts = [
            ("127.0.0.1", true),
            ("[::1]", true),
            ("[fe80::1:2]", true),
            ("api.example", true),
            ("a-b.c", true),
            ("", false),
            ("[::1", false),
            ("::1", false),
            ("1.2.3.256", false),
            ("a b", false),
            ("u:p@h", false),
        ];
        let ports = [
            ("", true),
            (":1", true),
            (":8080", true),
            (":65535", true),
            (":0", false),
            (":65536", false),
            (":x", false),
        ];
        let paths = [
            ("", true),
            ("/", true),
            ("/ready", true),
            ("/a/b?c=d&e", true),
            ("/%7E", true),
            ("/a b", false),
            ("/#f", false),
            ("/%g0", false),
        ];
        let mut accepted = 0;
        for (scheme, s_ok) in schemes {
            for (host, h_ok) in hosts {
                for (port, p_ok) in ports {
                    for (path, q_ok) in paths {
                        let input = format!("{scheme}{host}{port}{path}");
                        let want = s_ok && h_ok && p_ok && q_ok;
                        let got = parse_url(&input);
                        assert_eq!(got.is_ok(), want, "{input}: {got:?}");
                        let Ok(u) = got else { continue };
                        accepted += 1;
                        let uri: ureq::http::Uri = u.as_str().parse().expect("http parses it");
                        let tls = scheme == "https://";
                        assert_eq!(uri.scheme_str(), Some(if tls { "https" } else { "http" }));
                        let bare = uri.host().map(|h| h.trim_matches(['[', ']']));
                        assert_eq!(bare, Some(u.host()), "{input}");
                        let port_given: Option<u16> =
                            port.strip_prefix(':').map(|p| p.parse().unwrap());
                        let default = if tls { 443 } else { 80 };
                        assert_eq!(
                            uri.port_u16().unwrap_or(default),
                            port_given.unwrap_or(default),
                            "{input}"
                        );
                    }
                }
            }
        }
        assert_eq!(accepted, 2 * 5 * 4 * 5);
    }

    #[test]
    fn ca_files() {
        assert_eq!(
            ca_certificates(b"").unwrap_err().0,
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        );
        assert_eq!(
            ca_certificates(b"just text\n").unwrap_err().0,
            "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        );
        let garbage = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(
            ca_certificates(garbage)
                .unwrap_err()
                .0
                .starts_with("certificate 1 cannot be used as a CA"),
            "{:?}",
            ca_certificates(garbage)
        );
        let broken = b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
        assert!(ca_certificates(broken).unwrap_err().0.starts_with("not a valid PEM file"));
    }

    /// What validate accepts, the HTTP client can request: otherwise every monitor fails (1)
    /// on a configuration error that validate-all should have named (6).
    #[test]
    fn urls_the_client_cannot_request_are_refused() {
        for bad in [
            "http://[#",
            "http://[::1/",
            "http://a]/",
            "http://%zz/",
            "http://h^/",
            "http://h:99999/",
            "http://h:x/",
            "http://h:0/",
            "http://:80/",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_url("http://h:99999/").unwrap_err().0,
            "'http://h:99999/' is not a valid URL: the port is not a number from 1 to 65535"
        );
        assert!(parse_url("http://[::1]:8080/ready").is_ok());
        assert!(parse_url("http://h.example:80/a?b=c").is_ok());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_env_file_is_read_or_names_the_line(text in any::<String>()) {
                match parse_env_file(&text) {
                    Ok(vars) => {
                        for (k, v) in vars {
                            prop_assert!(!k.is_empty() && !k.contains('='), "{k}");
                            prop_assert!(!v.contains('\n'), "{v:?}");
                        }
                    }
                    Err(e) => prop_assert!(e.0.starts_with("line "), "{}", e.0),
                }
            }

            /// Variables written as `KEY='value'` (or `"value"` when the value has a `'`) read
            /// back exactly, with or without `export`.
            #[test]
            fn written_env_files_read_back(
                vars in prop::collection::vec(("[A-Za-z_][A-Za-z0-9_]{0,8}", "[^\n\r]{0,16}", any::<bool>()), 0..6)
                    .prop_filter("one quote kind free", |v| v.iter().all(|(_, v, _)| !(v.contains('\'') && v.contains('"')))),
            ) {
                let text: String = vars
                    .iter()
                    .map(|(k, v, export)| {
                        let q = if v.contains('\'') { '"' } else { '\'' };
                        format!("{}{k}={q}{v}{q}\n", if *export { "export " } else { "" })
                    })
                    .collect();
                let want: Vec<(String, String)> = vars.into_iter().map(|(k, v, _)| (k, v)).collect();
                prop_assert_eq!(parse_env_file(&text), Ok(want));
            }

            /// A URL the agent accepts is one its HTTP client can request: http or https, with
            /// a host, and https exactly when the check goes over TLS.
            #[test]
            fn accepted_urls_can_be_requested(
                url in prop_oneof![
                    any::<String>(),
                    "https?://[a-z0-9.:\\[\\]@%/?#-]{0,24}",
                    "https?://[a-z0-9.-]{1,10}(:[0-9]{0,6})?(/[a-z0-9/?=&%#.-]{0,12})?",
                ],
            ) {
                if let Ok(u) = parse_url(&url) {
                    let uri = ureq::http::Uri::try_from(u.as_str());
                    prop_assert!(uri.is_ok(), "{u:?}: {uri:?}");
                    let uri = uri.unwrap();
                    let scheme = if u.is_https() { "https" } else { "http" };
                    prop_assert_eq!(uri.scheme_str(), Some(scheme));
                    prop_assert!(uri.host().is_some_and(|h| !h.is_empty()), "{u:?}");
                }
            }
        }
    }
}
