//! The health check: one GET with an in-process client (ureq), bounded by a timeout, no proxy,
//! no redirects followed. Nothing is forked and nothing lands on a command line.

use std::io::ErrorKind;
use std::time::Duration;

use crate::settings::HttpUrl;

/// Largest body read for the pattern check.
const BODY_LIMIT: u64 = 64 * 1024;

/// What one check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Probe {
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
    pub fn answered(&self) -> bool {
        matches!(self, Probe::Healthy | Probe::Unhealthy(_))
    }

    /// Why the check failed, for an exit reason; `None` when healthy.
    pub fn problem(&self) -> Option<String> {
        match self {
            Probe::Healthy => None,
            Probe::Refused => Some("connection refused".to_owned()),
            Probe::NoAnswer(why) | Probe::Unhealthy(why) => Some(why.clone()),
        }
    }
}

/// What a check expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expect {
    /// HTTP status.
    pub status: u16,
    /// Substring the body must contain.
    pub pattern: Option<String>,
}

/// Compare a response against the expectation (pure, for tests).
pub fn judge(status: u16, body: Option<&str>, want: &Expect) -> Probe {
    if status != want.status {
        return Probe::Unhealthy(format!("answered HTTP {status}, expected {}", want.status));
    }
    match (&want.pattern, body) {
        (Some(p), Some(b)) if b.contains(p.as_str()) => Probe::Healthy,
        (Some(p), _) => Probe::Unhealthy(format!("the body does not contain '{p}'")),
        (None, _) => Probe::Healthy,
    }
}

/// GET `url` within `timeout`.
pub fn check(url: &HttpUrl, want: &Expect, timeout: Duration) -> Probe {
    let timeout = timeout.max(Duration::from_millis(50));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .proxy(None)
        .max_idle_connections(0)
        .user_agent("ferroha-restapi")
        .build()
        .into();
    match agent.get(&url.0).call() {
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
        Err(e) => Probe::NoAnswer(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

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
    fn one_shot(reply: Option<&'static str>) -> (HttpUrl, std::thread::JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = HttpUrl(format!("http://{}/health", l.local_addr().unwrap()));
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
        let (url, h) =
            one_shot(Some("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"));
        assert_eq!(check(&url, &want(200, Some("ok")), Duration::from_secs(5)), Probe::Healthy);
        h.join().unwrap();
        let (url, h) =
            one_shot(Some("HTTP/1.1 302 Found\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"));
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
        let url = HttpUrl(format!("http://{}/", free.local_addr().unwrap()));
        drop(free);
        assert_eq!(check(&url, &want(200, None), Duration::from_secs(1)), Probe::Refused);
        // Accepts, reads the request, closes without a response: no answer, not refused.
        let (url, h) = one_shot(Some(""));
        let got = check(&url, &want(200, None), Duration::from_secs(5));
        assert!(matches!(got, Probe::NoAnswer(_)), "{got:?}");
        h.join().unwrap();
    }
}
