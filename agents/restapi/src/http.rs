//! The health check: one GET with an in-process client (ureq), bounded by a timeout, no proxy,
//! no redirects followed. Nothing is forked and nothing lands on a command line.
//!
//! `https://` goes through rustls (ring provider), verified against the certificates of a CA
//! file, or not verified at all when the operator says so. Nothing of TLS is touched for an
//! `http://` URL: no provider installed, no CA file read.

use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Once;
use std::time::Duration;

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::settings::{self, HealthUrl};

/// How the server's certificate is checked for an `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Chain to a CA certificate of this PEM file, name matching the URL's host, dates valid.
    CaFile(PathBuf),
    /// Nothing is checked (`insecure_skip_tls_verify`): whoever answers on the address passes.
    Nothing,
}

/// Request and response buffers. ureq's defaults (128 KiB each) cost a page fault per 4 KiB
/// touched when zeroed, in every monitor; a health response's headers fit in far less (at most
/// half of it is accepted, 8 KiB, what common servers allow). The body is read through it, up
/// to [`BODY_LIMIT`].
const BUFFER: usize = 16 * 1024;

/// Largest body read for the pattern check.
const BODY_LIMIT: u64 = 64 * 1024;

/// What one check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Probe {
    /// Expected status (and pattern, if any).
    Healthy,
    /// Nothing listens (connection refused).
    Refused,
    /// No HTTP answer: timeout, reset, unresolvable host, protocol error.
    NoAnswer(String),
    /// An HTTP answer, but not the expected one.
    Unhealthy(String),
}

impl Probe {
    /// Whether an HTTP response came back, healthy or not.
    pub(crate) fn answered(&self) -> bool {
        matches!(self, Probe::Healthy | Probe::Unhealthy(_))
    }

    /// Why the check failed, for an exit reason; `None` when healthy.
    pub(crate) fn problem(&self) -> Option<String> {
        match self {
            Probe::Healthy => None,
            Probe::Refused => Some("connection refused".to_owned()),
            Probe::NoAnswer(why) | Probe::Unhealthy(why) => Some(why.clone()),
        }
    }
}

/// What a check expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Expect {
    /// HTTP status.
    pub(crate) status: u16,
    /// Substring the body must contain.
    pub(crate) pattern: Option<String>,
}

/// Compare a response against the expectation (pure, for tests).
pub(crate) fn judge(status: u16, body: Option<&str>, want: &Expect) -> Probe {
    if status != want.status {
        return Probe::Unhealthy(format!("answered HTTP {status}, expected {}", want.status));
    }
    match (&want.pattern, body) {
        (Some(p), Some(b)) if b.contains(p.as_str()) => Probe::Healthy,
        (Some(p), _) => Probe::Unhealthy(format!("the body does not contain '{p}'")),
        (None, _) => Probe::Healthy,
    }
}

/// GET `url` within `timeout`; `verify` applies to `https://` only.
pub(crate) fn check(url: &HealthUrl, verify: &Verify, want: &Expect, timeout: Duration) -> Probe {
    let timeout = timeout.max(Duration::from_millis(50));
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .proxy(None)
        .max_idle_connections(0)
        .input_buffer_size(BUFFER)
        .output_buffer_size(BUFFER)
        // Below the buffer's size, so that a longer header is refused as such instead of
        // filling the buffer and waiting for the rest.
        .max_response_header_size(BUFFER / 2)
        .user_agent("ferroha-restapi");
    if url.is_https() {
        match tls_config(verify) {
            Ok(tls) => config = config.tls_config(tls),
            Err(why) => return Probe::NoAnswer(why),
        }
    }
    let agent = ureq::Agent::with_parts(config.build(), DefaultConnector::new(), LiteralFirst);
    match agent.get(url.as_str()).call() {
        Ok(mut resp) => {
            let status = resp.status().as_u16();
            let body = match &want.pattern {
                Some(_) => match resp.body_mut().with_config().limit(BODY_LIMIT).read_to_string() {
                    Ok(b) => Some(b),
                    Err(e) => return Probe::Unhealthy(format!("cannot read the body: {e}")),
                },
                None => None,
            };
            judge(status, body.as_deref(), want)
        }
        Err(ureq::Error::Io(e)) if e.kind() == ErrorKind::ConnectionRefused => Probe::Refused,
        Err(ureq::Error::Timeout(_)) => {
            Probe::NoAnswer(format!("no answer within {} ms", timeout.as_millis()))
        }
        Err(e) => match tls_error(&e) {
            Some(t) => Probe::NoAnswer(tls_reason(t, url, verify)),
            None => Probe::NoAnswer(e.to_string()),
        },
    }
}

/// The TLS settings of one check: rustls with ring, and the CA file's certificates as the only
/// roots (read on every check, so a renewed CA file needs no restart).
fn tls_config(verify: &Verify) -> Result<ureq::tls::TlsConfig, String> {
    static PROVIDER: Once = Once::new();
    // A process-wide default, set once; the Err of a second install is nothing to handle.
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    let tls = ureq::tls::TlsConfig::builder().provider(ureq::tls::TlsProvider::Rustls);
    let tls = match verify {
        Verify::Nothing => tls.disable_verification(true),
        Verify::CaFile(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
            let certs = settings::ca_certificates(&pem)
                .map_err(|e| format!("ca_file {} {e}", path.display()))?;
            tls.root_certs(ureq::tls::RootCerts::from(certs))
        }
    };
    Ok(tls.build())
}

/// The rustls error inside a failed request, if TLS is what failed (ureq passes it on either
/// as its own variant or inside an I/O error from the handshake).
fn tls_error(e: &ureq::Error) -> Option<&rustls::Error> {
    match e {
        ureq::Error::Rustls(t) => Some(t),
        ureq::Error::Io(io) => io.get_ref().and_then(|inner| inner.downcast_ref()),
        _ => None,
    }
}

/// A TLS failure as an operator reads it: what to fix, not only what rustls saw.
fn tls_reason(e: &rustls::Error, url: &HealthUrl, verify: &Verify) -> String {
    use rustls::CertificateError as C;
    let ca = match verify {
        Verify::CaFile(p) => p.display().to_string(),
        Verify::Nothing => String::new(),
    };
    let host = url.host();
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => {
                format!("TLS: the server's certificate is not signed by a CA in ca_file {ca}")
            }
            C::NotValidForName => format!("TLS: the server's certificate is not valid for {host}"),
            C::NotValidForNameContext { presented, .. } => format!(
                "TLS: the server's certificate is not valid for {host} (it names {})",
                presented.iter().map(|n| bare_name(n)).collect::<Vec<_>>().join(", ")
            ),
            C::Expired | C::ExpiredContext { .. } => {
                "TLS: the server's certificate has expired".to_owned()
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "TLS: the server's certificate is not valid yet (are the clocks right?)".to_owned()
            }
            other => format!("TLS: the server's certificate is refused ({other:?})"),
        },
        rustls::Error::InvalidMessage(_) => {
            format!("TLS handshake failed ({e}): does the server speak TLS on this port?")
        }
        other => format!("TLS handshake failed ({other})"),
    }
}

/// A name as rustls presents it (`DnsName("api.example")`, `IpAddress(10.0.0.1)`), bare.
fn bare_name(presented: &str) -> &str {
    let inner = |prefix: &str, suffix: &str| presented.strip_prefix(prefix)?.strip_suffix(suffix);
    inner("DnsName(\"", "\")").or_else(|| inner("IpAddress(", ")")).unwrap_or(presented)
}

/// ureq's resolver, without its thread when there is nothing to resolve: with a timeout set,
/// ureq runs every lookup in a new thread (so a hung DNS server cannot outlast the timeout),
/// even for `127.0.0.1`. An address in the URL needs no lookup, so no thread.
#[derive(Debug)]
struct LiteralFirst;

impl Resolver for LiteralFirst {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        match literal_address(uri) {
            Some(addr) => {
                let mut found = self.empty();
                found.push(addr);
                Ok(found)
            }
            None => DefaultResolver::default().resolve(uri, config, timeout),
        }
    }
}

/// The socket address of a URI whose host is an IP address (the port given or the scheme's).
fn literal_address(uri: &ureq::http::Uri) -> Option<SocketAddr> {
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().ok()?;
    let port = uri.port_u16().or(match uri.scheme_str()? {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    fn parsed(s: &str) -> HealthUrl {
        crate::settings::parse_url(s).unwrap()
    }

    fn check(url: &HealthUrl, want: &Expect, timeout: Duration) -> Probe {
        super::check(url, &Verify::CaFile("/nonexistent".into()), want, timeout)
    }

    fn want(status: u16, pattern: Option<&str>) -> Expect {
        Expect { status, pattern: pattern.map(str::to_owned) }
    }

    #[test]
    fn judging() {
        assert_eq!(judge(200, None, &want(200, None)), Probe::Healthy);
        assert_eq!(
            judge(503, None, &want(200, None)),
            Probe::Unhealthy("answered HTTP 503, expected 200".into())
        );
        assert_eq!(
            judge(200, Some("{\"status\":\"ok\"}"), &want(200, Some("\"ok\""))),
            Probe::Healthy
        );
        assert_eq!(
            judge(200, Some("nope"), &want(200, Some("ok\""))),
            Probe::Unhealthy("the body does not contain 'ok\"'".into())
        );
    }

    /// A loopback server that answers one request with `reply`, or never answers.
    fn one_shot(reply: Option<String>) -> (HealthUrl, std::thread::JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = parsed(&format!("http://{}/health", l.local_addr().unwrap()));
        let h = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            match reply {
                Some(r) => {
                    let _ = s.write_all(r.as_bytes());
                }
                None => std::thread::sleep(Duration::from_millis(800)),
            }
        });
        (url, h)
    }

    #[test]
    fn real_requests_on_loopback() {
        let (url, h) = one_shot(Some(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".into(),
        ));
        assert_eq!(check(&url, &want(200, Some("ok")), Duration::from_secs(5)), Probe::Healthy);
        h.join().unwrap();
        let (url, h) = one_shot(Some(
            "HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n".into(),
        ));
        let got = check(&url, &want(200, None), Duration::from_secs(5));
        assert_eq!(got, Probe::Unhealthy("answered HTTP 302, expected 200".into()));
        h.join().unwrap();
        let (url, h) = one_shot(None);
        let got = check(&url, &want(200, None), Duration::from_millis(200));
        assert_eq!(got, Probe::NoAnswer("no answer within 200 ms".into()));
        assert!(!got.answered());
        assert_eq!(got.problem().as_deref(), Some("no answer within 200 ms"));
        h.join().unwrap();
        let free = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = parsed(&format!("http://{}/", free.local_addr().unwrap()));
        drop(free);
        assert_eq!(check(&url, &want(200, None), Duration::from_secs(1)), Probe::Refused);
        // Accepts, reads the request, closes without a response: no answer, not refused.
        let (url, h) = one_shot(Some("".into()));
        let got = check(&url, &want(200, None), Duration::from_secs(5));
        assert!(matches!(got, Probe::NoAnswer(_)), "{got:?}");
        h.join().unwrap();
    }

    #[test]
    fn bodies_are_read_past_the_buffer_and_headers_are_bounded() {
        // The pattern 40 KiB into the body: past the 16 KiB buffer, within the 64 KiB read.
        let body = format!("{}\"ready\"", "x".repeat(40 * 1024));
        let reply = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        let (url, h) = one_shot(Some(reply));
        assert_eq!(
            check(&url, &want(200, Some("\"ready\"")), Duration::from_secs(5)),
            Probe::Healthy
        );
        h.join().unwrap();
        // Response headers larger than the buffer: refused, not waited on.
        let reply = format!("HTTP/1.1 200 OK\r\nX-Big: {}\r\n\r\n", "y".repeat(20 * 1024));
        let (url, h) = one_shot(Some(reply));
        let got = check(&url, &want(200, None), Duration::from_secs(5));
        assert!(
            matches!(&got, Probe::NoAnswer(why) if why.starts_with("response header is too big")),
            "{got:?}"
        );
        h.join().unwrap();
    }

    #[test]
    fn addresses_in_urls_need_no_lookup() {
        let addr = |s: &str| literal_address(&s.parse().unwrap());
        assert_eq!(addr("http://127.0.0.1:8080/x"), Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(addr("http://127.0.0.1/x"), Some("127.0.0.1:80".parse().unwrap()));
        assert_eq!(addr("https://[::1]/"), Some("[::1]:443".parse().unwrap()));
        assert_eq!(addr("https://[::1]:8443/"), Some("[::1]:8443".parse().unwrap()));
        assert_eq!(addr("http://localhost:8080/"), None, "a name is resolved");
        assert_eq!(addr("http://api.example/"), None);
    }

    #[test]
    fn tls_failures_are_explained() {
        use rustls::CertificateError as C;
        let url = parsed("https://127.0.0.1:8443/health");
        let ca = Verify::CaFile("/etc/ferroha/ca.pem".into());
        let reason = |e: rustls::Error| tls_reason(&e, &url, &ca);
        assert_eq!(
            reason(rustls::Error::InvalidCertificate(C::UnknownIssuer)),
            "TLS: the server's certificate is not signed by a CA in ca_file /etc/ferroha/ca.pem"
        );
        assert_eq!(
            reason(rustls::Error::InvalidCertificate(C::NotValidForName)),
            "TLS: the server's certificate is not valid for 127.0.0.1"
        );
        let presented = vec!["DnsName(\"api.example\")".into(), "IpAddress(10.0.0.1)".into()];
        let expected = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        assert_eq!(
            reason(rustls::Error::InvalidCertificate(C::NotValidForNameContext {
                expected,
                presented
            })),
            "TLS: the server's certificate is not valid for 127.0.0.1 (it names api.example, \
             10.0.0.1)"
        );
        assert_eq!(
            reason(rustls::Error::InvalidCertificate(C::Expired)),
            "TLS: the server's certificate has expired"
        );
        assert!(
            reason(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType))
                .ends_with("does the server speak TLS on this port?")
        );
    }

    #[test]
    fn https_checks_without_a_tls_server() {
        // Plain HTTP on an https:// URL: the handshake fails, with a hint.
        let (url, h) = one_shot(Some(
            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".into(),
        ));
        let url = parsed(&url.as_str().replace("http://", "https://"));
        let got = super::check(&url, &Verify::Nothing, &want(200, None), Duration::from_secs(5));
        let why = got.problem().unwrap_or_default();
        assert!(why.ends_with("does the server speak TLS on this port?"), "{got:?}");
        h.join().unwrap();
        // A server that accepts and never says anything: the timeout, as for http.
        let (url, h) = one_shot(None);
        let url = parsed(&url.as_str().replace("http://", "https://"));
        let got =
            super::check(&url, &Verify::Nothing, &want(200, None), Duration::from_millis(200));
        assert_eq!(got, Probe::NoAnswer("no answer within 200 ms".into()));
        h.join().unwrap();
        // An unreadable CA file: nothing is sent.
        let got = check(&parsed("https://127.0.0.1:1/"), &want(200, None), Duration::from_secs(1));
        assert_eq!(
            got,
            Probe::NoAnswer(
                "cannot read ca_file /nonexistent: No such file or directory (os error 2)".into()
            )
        );
    }
}
