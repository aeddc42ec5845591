//! The `vip` agent against the real kernel: each test builds its own pair of network namespaces
//! joined by veth links (documentation ranges only, no route out), runs the agent binary inside
//! one of them, watches from the other with tcpdump, and deletes both namespaces when done.
//! Needs root, `ip` (iproute2) and tcpdump: a system test, run by `scripts/test.sh` (`cargo test
//! -- --include-ignored`).

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use testkit::{Agent, Env, Outcome};

const VIP: &str = env!("CARGO_BIN_EXE_vip");
static SEQ: AtomicU32 = AtomicU32::new(0);

fn sh(args: &[&str]) -> Output {
    let out = Command::new(args[0]).args(&args[1..]).output().expect("run command");
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Two namespaces: `a` (where the agent runs; fh0 ↔ `b`'s fh1, and fh2 ↔ fh3) and `b` (the
/// neighbour). Removed on drop.
struct Lab {
    a: String,
    b: String,
}

impl Lab {
    fn new() -> Lab {
        assert!(
            running_as_root(),
            "the vip netns tests need root (they create network namespaces); run scripts/test.sh as root"
        );
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let id = format!("fhv{}x{n}", std::process::id());
        let lab = Lab { a: format!("{id}a"), b: format!("{id}b") };
        sh(&["ip", "netns", "add", &lab.a]);
        sh(&["ip", "netns", "add", &lab.b]);
        for ns in [&lab.a, &lab.b] {
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        for (x, y) in [("fh0", "fh1"), ("fh2", "fh3")] {
            sh(&[
                "ip", "-n", &lab.a, "link", "add", x, "type", "veth", "peer", "name", y, "netns",
                &lab.b,
            ]);
            sh(&["ip", "-n", &lab.a, "link", "set", x, "up"]);
            sh(&["ip", "-n", &lab.b, "link", "set", y, "up"]);
        }
        lab
    }

    fn ip_a(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "-n", self.a.as_str()];
        v.extend_from_slice(args);
        String::from_utf8_lossy(&sh(&v).stdout).into_owned()
    }

    fn ip_b(&self, args: &[&str]) -> String {
        let mut v = vec!["ip", "-n", self.b.as_str()];
        v.extend_from_slice(args);
        String::from_utf8_lossy(&sh(&v).stdout).into_owned()
    }

    fn has(&self, dev: &str, ip: &str) -> bool {
        self.ip_a(&["-o", "addr", "show", "dev", dev]).contains(&format!(" {ip}/"))
    }

    /// Run `vip <action>` inside `a`; `extra` are further environment variables.
    fn agent(&self, action: &str, params: &[(&str, &str)], extra: &[(&str, &str)]) -> Outcome {
        let env = extra.iter().fold(Env::new("vip-test").params(params), |e, (k, v)| e.var(k, v));
        Agent::new(VIP).behind(&["ip", "netns", "exec", &self.a]).run(action, &env)
    }

    /// Capture in `b` on `dev` with a tcpdump filter; returns when tcpdump is listening.
    fn capture(&self, dev: &str, filter: &str) -> Capture {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.b, "tcpdump", "-i", dev, "-n", "-e", "-l", "-U"])
            .args(filter.split_whitespace())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tcpdump");
        let mut err = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        let t0 = Instant::now();
        while !line.contains("listening on") {
            line.clear();
            if err.read_line(&mut line).unwrap_or(0) == 0 || t0.elapsed() > Duration::from_secs(10)
            {
                panic!("tcpdump did not start: {line}");
            }
        }
        Capture { child }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

fn running_as_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

struct Capture {
    child: Child,
}

impl Capture {
    /// Stop after a short grace period and return the captured lines.
    fn lines(self) -> Vec<String> {
        self.lines_after(Duration::from_millis(300))
    }

    /// Stop after `grace` and return the captured lines.
    fn lines_after(mut self, grace: Duration) -> Vec<String> {
        thread::sleep(grace);
        let _ = self.child.kill();
        let mut out = String::new();
        if let Some(mut s) = self.child.stdout.take() {
            let _ = s.read_to_string(&mut out);
        }
        let _ = self.child.wait();
        out.lines().map(str::to_owned).collect()
    }
}

const V4: &[(&str, &str)] = &[("ip", "192.0.2.100"), ("cidr_netmask", "24"), ("nic", "fh0")];

fn with(
    base: &[(&'static str, &'static str)],
    extra: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    let mut v: Vec<_> =
        base.iter().filter(|(k, _)| !extra.iter().any(|(e, _)| e == k)).copied().collect();
    v.extend_from_slice(extra);
    v
}

#[test]
#[ignore = "system: root + network namespaces (ip netns); run by scripts/test.sh"]
fn ipv4_lifecycle_is_idempotent() {
    let lab = Lab::new();
    assert_eq!(lab.agent("monitor", V4, &[]).rc, 7);
    assert_eq!(lab.agent("stop", V4, &[]).rc, 0, "stop when stopped");
    let r = lab.agent("start", V4, &[]);
    assert_eq!(r.rc, 0, "{r:?}");
    assert!(lab.has("fh0", "192.0.2.100"));
    let shown = lab.ip_a(&["-o", "-4", "addr", "show", "dev", "fh0"]);
    assert!(shown.contains("192.0.2.100/24 brd 192.0.2.255"), "{shown}");
    assert_eq!(lab.agent("monitor", V4, &[]).rc, 0);
    assert_eq!(lab.agent("start", V4, &[]).rc, 0, "start twice");
    assert_eq!(lab.agent("stop", V4, &[]).rc, 0);
    assert!(!lab.has("fh0", "192.0.2.100"));
    assert_eq!(lab.agent("monitor", V4, &[]).rc, 7);
    assert_eq!(lab.agent("stop", V4, &[]).rc, 0, "stop twice");
}

fn garps(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| l.contains("Request who-has 192.0.2.100 (ff:ff:ff:ff:ff:ff) tell 192.0.2.100"))
        .count()
}

#[test]
#[ignore = "system: root + network namespaces (ip netns), tcpdump; run by scripts/test.sh"]
fn ipv4_start_probes_then_sends_the_configured_garp_burst() {
    let lab = Lab::new();
    let cap = lab.capture("fh1", "arp");
    let params = with(V4, &[("arp_count", "3"), ("arp_interval", "100"), ("arp_bg", "false")]);
    let r = lab.agent("start", &params, &[]);
    assert_eq!(r.rc, 0, "{r:?}");
    let lines = cap.lines();
    let garp: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("Request who-has 192.0.2.100 (ff:ff:ff:ff:ff:ff) tell 192.0.2.100"))
        .collect();
    let probes = lines.iter().filter(|l| l.contains("who-has 192.0.2.100 tell 0.0.0.0")).count();
    assert_eq!(garp.len(), 3, "{lines:#?}");
    assert_eq!(probes, 3, "RFC 5227 probes before adding (3 per window): {lines:#?}");
    for l in &garp {
        assert!(l.contains("> ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42"), "{l}");
    }
}

#[test]
#[ignore = "system: root + network namespaces (ip netns), tcpdump; run by scripts/test.sh"]
fn background_burst_completes_and_ends_when_the_address_goes() {
    let lab = Lab::new();
    let cap = lab.capture("fh1", "arp");
    let params = with(V4, &[("arp_count", "4"), ("arp_interval", "100"), ("run_arping", "false")]);
    assert_eq!(lab.agent("start", &params, &[]).rc, 0);
    assert_eq!(
        garps(&cap.lines_after(Duration::from_millis(1500))),
        4,
        "all sent after start returned"
    );
    assert_eq!(lab.agent("stop", &params, &[]).rc, 0);

    let cap = lab.capture("fh1", "arp");
    let long = with(V4, &[("arp_count", "20"), ("arp_interval", "200"), ("run_arping", "false")]);
    assert_eq!(lab.agent("start", &long, &[]).rc, 0);
    assert_eq!(lab.agent("stop", &long, &[]).rc, 0);
    let sent = garps(&cap.lines_after(Duration::from_millis(1500)));
    assert!((1..=3).contains(&sent), "the child stopped once the address was gone: {sent} sent");
}

#[test]
#[ignore = "system: root + network namespaces (ip netns), tcpdump; run by scripts/test.sh"]
fn monitor_refreshes_arp_but_probes_do_not() {
    let lab = Lab::new();
    let params = with(
        V4,
        &[
            ("arp_count", "0"),
            ("arp_count_refresh", "2"),
            ("arp_interval", "10"),
            ("run_arping", "false"),
        ],
    );
    assert_eq!(lab.agent("start", &params, &[]).rc, 0);
    let cap = lab.capture("fh1", "arp");
    assert_eq!(lab.agent("monitor", &params, &[]).rc, 0);
    let probe = lab.agent("monitor", &params, &[("OCF_RESKEY_CRM_meta_interval", "0")]);
    assert_eq!(probe.rc, 0);
    let n = cap.lines().iter().filter(|l| l.contains("tell 192.0.2.100")).count();
    assert_eq!(n, 2);
}

#[test]
#[ignore = "system: root + network namespaces (ip netns); run by scripts/test.sh"]
fn link_down_is_not_running_and_start_refuses() {
    let lab = Lab::new();
    assert_eq!(lab.agent("start", V4, &[]).rc, 0);
    lab.ip_b(&["link", "set", "fh1", "down"]);
    thread::sleep(Duration::from_millis(100));
    assert_eq!(lab.agent("monitor", V4, &[]).rc, 7, "no carrier");
    let off = with(V4, &[("check_link_status", "false")]);
    assert_eq!(lab.agent("monitor", &off, &[]).rc, 0, "link state ignored");
    assert_eq!(lab.agent("stop", V4, &[]).rc, 0);
    let r = lab.agent("start", V4, &[]);
    assert_eq!(r.rc, 1);
    assert_eq!(r.reason(), "the link of fh0 is down (no carrier or administratively down)");
    assert!(!lab.has("fh0", "192.0.2.100"));
}

#[test]
#[ignore = "system: root + network namespaces (ip netns); run by scripts/test.sh"]
fn address_on_another_interface_is_a_failure() {
    let lab = Lab::new();
    lab.ip_a(&["addr", "add", "192.0.2.100/24", "dev", "fh2"]);
    let r = lab.agent("monitor", V4, &[]);
    assert_eq!(r.rc, 1);
    assert_eq!(r.reason(), "192.0.2.100 is on fh2, not on fh0");
    let r = lab.agent("start", V4, &[]);
    assert_eq!(r.rc, 1);
    assert_eq!(r.reason(), "192.0.2.100 is already on fh2; not adding it to fh0");
}

#[test]
#[ignore = "system: root + network namespaces (ip netns); run by scripts/test.sh"]
fn ipv4_duplicate_on_the_network_is_refused() {
    let lab = Lab::new();
    lab.ip_b(&["addr", "add", "192.0.2.100/24", "dev", "fh1"]);
    let params = with(V4, &[("arping_timeout", "200")]);
    let r = lab.agent("start", &params, &[("OCF_RESKEY_CRM_meta_timeout", "3000")]);
    assert_eq!(r.rc, 1, "{r:?}");
    let mac = lab.ip_b(&["-o", "link", "show", "fh1"]);
    let reason = r.reason();
    assert!(reason.starts_with("192.0.2.100 is already in use on the network by "), "{reason}");
    assert!(
        mac.contains(reason.split_whitespace().nth(9).unwrap_or("?").trim_end_matches(';')),
        "{reason} / {mac}"
    );
    assert!(!lab.has("fh0", "192.0.2.100"));
}

const V6: &[(&str, &str)] = &[("ip", "2001:db8::100"), ("cidr_netmask", "64"), ("nic", "fh0")];

#[test]
#[ignore = "system: root + network namespaces (ip netns), tcpdump; run by scripts/test.sh"]
fn ipv6_waits_for_dad_and_sends_unsolicited_na() {
    let lab = Lab::new();
    let cap = lab.capture("fh1", "icmp6 and ip6[40] == 136");
    let params = with(V6, &[("arp_count", "2"), ("arp_interval", "50"), ("arp_bg", "false")]);
    let r = lab.agent("start", &params, &[]);
    assert_eq!(r.rc, 0, "{r:?}");
    let shown = lab.ip_a(&["-o", "-6", "addr", "show", "dev", "fh0"]);
    let ours = shown.lines().find(|l| l.contains("2001:db8::100/64")).unwrap_or_default();
    assert!(
        !ours.is_empty() && !ours.contains("tentative"),
        "DAD finished before start returned: {shown}"
    );
    let lines = cap.lines();
    let na: Vec<&String> = lines
        .iter()
        .filter(|l| {
            l.contains("2001:db8::100 > ff02::1")
                && l.contains("neighbor advertisement, tgt is 2001:db8::100")
        })
        .collect();
    assert_eq!(na.len(), 2, "{lines:#?}");
    assert_eq!(lab.agent("monitor", &params, &[]).rc, 0);
    assert_eq!(lab.agent("stop", &params, &[]).rc, 0);
    assert_eq!(lab.agent("monitor", &params, &[]).rc, 7);
}

#[test]
#[ignore = "system: root + network namespaces (ip netns); run by scripts/test.sh"]
fn ipv6_dad_failure_fails_start_and_removes_the_address() {
    let lab = Lab::new();
    lab.ip_b(&["addr", "add", "2001:db8::100/64", "dev", "fh1", "nodad"]);
    let r = lab.agent("start", V6, &[]);
    assert_eq!(r.rc, 1, "{r:?}");
    assert_eq!(
        r.reason(),
        "2001:db8::100 failed duplicate address detection on fh0: another host uses it"
    );
    assert!(!lab.has("fh0", "2001:db8::100"));
}

#[test]
#[ignore = "system: root + network namespaces (ip netns); run by scripts/test.sh"]
fn nic_and_prefix_come_from_the_route() {
    let lab = Lab::new();
    lab.ip_a(&["addr", "add", "198.51.100.1/25", "dev", "fh2"]);
    let params = [("ip", "198.51.100.77"), ("run_arping", "false")];
    assert_eq!(lab.agent("validate-all", &params, &[]).rc, 0);
    assert_eq!(lab.agent("start", &params, &[]).rc, 0);
    assert!(lab.has("fh2", "198.51.100.77"));
    assert!(lab.ip_a(&["-o", "addr", "show", "dev", "fh2"]).contains("198.51.100.77/25"));
    assert_eq!(lab.agent("stop", &params, &[]).rc, 0);
}

#[test]
#[ignore = "system: root + network namespaces (ip netns); run by scripts/test.sh"]
fn configuration_that_cannot_work_here() {
    let lab = Lab::new();
    let no_route = [("ip", "203.0.113.5")];
    let r = lab.agent("validate-all", &no_route, &[]);
    assert_eq!(r.rc, 2);
    assert_eq!(r.reason(), "no route on this node covers 203.0.113.5; set nic and cidr_netmask");
    let probe = lab.agent("monitor", &no_route, &[("OCF_RESKEY_CRM_meta_interval", "0")]);
    assert_eq!(probe.rc, 7, "a probe reports not running: {probe:?}");
    let bad_nic = with(V4, &[("nic", "eth9")]);
    let r = lab.agent("start", &bad_nic, &[]);
    assert_eq!(r.rc, 2);
    assert_eq!(r.reason(), "nic 'eth9' does not exist on this node");
    assert_eq!(lab.agent("stop", &bad_nic, &[]).rc, 0);
}

#[test]
#[ignore = "system: root + network namespaces (ip netns); run by scripts/test.sh"]
fn stop_with_a_broken_configuration_still_releases_the_address() {
    let lab = Lab::new();
    assert_eq!(lab.agent("start", V4, &[]).rc, 0);
    let broken = with(V4, &[("cidr_netmask", "33")]);
    let r = lab.agent("start", &broken, &[]);
    assert_eq!(r.rc, 6);
    assert_eq!(r.reason(), "parameter 'cidr_netmask': 33 is not a prefix length between 1 and 32");
    assert_eq!(lab.agent("stop", &broken, &[]).rc, 0);
    assert!(!lab.has("fh0", "192.0.2.100"), "stop removed it despite the broken prefix");
    assert_eq!(lab.agent("stop", &[("ip", "not-an-ip")], &[]).rc, 0, "nothing held");
}

#[test]
#[ignore = "system: root + network namespaces (ip netns); run by scripts/test.sh"]
fn iflabel_is_set_and_checked() {
    let lab = Lab::new();
    let params = with(V4, &[("iflabel", "vip")]);
    assert_eq!(lab.agent("start", &params, &[]).rc, 0);
    assert!(lab.ip_a(&["-o", "addr", "show", "dev", "fh0"]).contains("fh0:vip"));
    assert_eq!(lab.agent("monitor", &params, &[]).rc, 0);
    let other = with(V4, &[("iflabel", "other")]);
    let r = lab.agent("monitor", &other, &[]);
    assert_eq!(r.rc, 1);
    assert_eq!(r.reason(), "192.0.2.100 is on fh0 with label 'fh0:vip', expected 'fh0:other'");
}

#[test]
#[ignore = "system: root + network namespaces (ip netns), resource-agents' ocf-tester; run by scripts/test.sh"]
fn ocf_tester_passes() {
    let lab = Lab::new();
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.a, "/usr/sbin/ocf-tester", "-n", "vip"])
        .args([
            "-o",
            "ip=192.0.2.100",
            "-o",
            "cidr_netmask=24",
            "-o",
            "nic=fh0",
            "-o",
            "arping_timeout=100",
        ])
        .arg(VIP)
        .output()
        .expect("run ocf-tester");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("passed all tests"), "{text}");
}

#[test]
#[ignore = "system: root + network namespaces (ip netns), xmllint + resource-agents' schemas; run by scripts/test.sh"]
fn ferroha_check_passes() {
    let lab = Lab::new();
    let report = ferroha_check::Checker::new(VIP)
        .instance("vip")
        .wrapper(&["ip", "netns", "exec", &lab.a])
        .param("ip", "192.0.2.100")
        .param("cidr_netmask", "24")
        .param("nic", "fh0")
        .param("arping_timeout", "100")
        .run();
    assert!(report.passed(), "{report}");
}
