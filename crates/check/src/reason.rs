//! Finding the exit reason an agent printed on stderr.
//!
//! Pacemaker takes the text after the *last occurrence* of `OCF_EXIT_REASON_PREFIX` anywhere in stderr
//! and shows it as `exitreason=` in `crm_mon`. The checker is stricter: the reason must be the last
//! non-blank stderr line, so that later log noise cannot be mistaken for (or bury) the reason. When
//! the prefix does occur earlier we say so, because Pacemaker would still have found it.

/// The prefix Pacemaker sets in `OCF_EXIT_REASON_PREFIX`.
pub const EXIT_REASON_PREFIX: &str = "ocf-exit-reason:";

/// What [`exit_reason`] found on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason<'a> {
    /// The last non-blank line starts with the prefix; the trimmed text after it.
    Found(&'a str),
    /// The last non-blank line is the prefix with nothing (or only spaces) after it.
    Empty,
    /// The last non-blank line has no prefix, but an earlier line does; the text after that prefix.
    NotLast(&'a str),
    /// No line carries the prefix.
    Missing,
}

/// Looks for an exit reason line in `stderr`, as described in the module documentation.
pub fn exit_reason<'a>(stderr: &'a str, prefix: &str) -> ExitReason<'a> {
    let Some(last) = stderr.lines().rev().find(|line| !line.trim().is_empty()) else {
        return ExitReason::Missing;
    };
    if let Some(text) = last.strip_prefix(prefix) {
        let text = text.trim();
        return if text.is_empty() { ExitReason::Empty } else { ExitReason::Found(text) };
    }
    match stderr.rfind(prefix) {
        Some(at) => {
            let rest = &stderr[at + prefix.len()..];
            ExitReason::NotLast(rest.lines().next().unwrap_or_default().trim())
        }
        None => ExitReason::Missing,
    }
}

/// Whether an exit code is a failure that must come with an exit reason: 1-6 and 9
/// (`OCF_ERR_*` and `OCF_FAILED_PROMOTED`). 0, 7, 8, 190 and 191 describe states, not failures.
pub fn needs_exit_reason(rc: i32) -> bool {
    matches!(rc, 1..=6 | 9)
}

/// The OCF name of an exit code, for reports.
pub fn code_name(rc: i32) -> &'static str {
    match rc {
        0 => "OCF_SUCCESS",
        1 => "OCF_ERR_GENERIC",
        2 => "OCF_ERR_ARGS",
        3 => "OCF_ERR_UNIMPLEMENTED",
        4 => "OCF_ERR_PERM",
        5 => "OCF_ERR_INSTALLED",
        6 => "OCF_ERR_CONFIGURED",
        7 => "OCF_NOT_RUNNING",
        8 => "OCF_RUNNING_PROMOTED",
        9 => "OCF_FAILED_PROMOTED",
        190 => "OCF_DEGRADED",
        191 => "OCF_DEGRADED_PROMOTED",
        _ => "not an OCF code",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = EXIT_REASON_PREFIX;

    #[test]
    fn found_on_last_line() {
        assert_eq!(
            exit_reason("ocf-exit-reason:ip is missing\n", P),
            ExitReason::Found("ip is missing")
        );
        assert_eq!(
            exit_reason("INFO: starting\nocf-exit-reason:  no such device \n\n  \n", P),
            ExitReason::Found("no such device")
        );
        assert_eq!(exit_reason("x\r\nocf-exit-reason:crlf\r\n", P), ExitReason::Found("crlf"));
    }

    #[test]
    fn empty_reason() {
        assert_eq!(exit_reason("ocf-exit-reason:\n", P), ExitReason::Empty);
        assert_eq!(exit_reason("ocf-exit-reason:   ", P), ExitReason::Empty);
    }

    #[test]
    fn reason_followed_by_noise() {
        let stderr = "ocf-exit-reason:bad config\nDEBUG: rc=6\n";
        assert_eq!(exit_reason(stderr, P), ExitReason::NotLast("bad config"));
        // Pacemaker uses the last occurrence, even mid-line.
        let stderr = "ocf-exit-reason:first\nlog: ocf-exit-reason:second\nmore\n";
        assert_eq!(exit_reason(stderr, P), ExitReason::NotLast("second"));
    }

    #[test]
    fn missing_reason() {
        assert_eq!(exit_reason("", P), ExitReason::Missing);
        assert_eq!(exit_reason("\n\n", P), ExitReason::Missing);
        assert_eq!(exit_reason("usage: agent {start|stop}\n", P), ExitReason::Missing);
        // The prefix must start the line; indented text is someone quoting it.
        assert_eq!(exit_reason(" ocf-exit-reason:x", P), ExitReason::NotLast("x"));
    }

    #[test]
    fn custom_prefix() {
        assert_eq!(exit_reason("REASON> it broke", "REASON>"), ExitReason::Found("it broke"));
    }

    #[test]
    fn which_codes_need_a_reason() {
        let needing: Vec<i32> = (0..=255).filter(|rc| needs_exit_reason(*rc)).collect();
        assert_eq!(needing, [1, 2, 3, 4, 5, 6, 9]);
        assert_eq!(code_name(7), "OCF_NOT_RUNNING");
        assert_eq!(code_name(127), "not an OCF code");
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_stderr_is_judged(stderr in any::<String>(), prefix in prop_oneof![Just(P.to_owned()), any::<String>()]) {
                let _ = exit_reason(&stderr, &prefix);
            }

            /// Log lines, then the reason: the reason is found, trimmed, whatever came before.
            #[test]
            fn the_last_line_is_the_reason(
                log in prop::collection::vec("[^\n]{0,20}", 0..4),
                reason in "[^\n]{0,20}",
                blank in prop_oneof![Just(""), Just("\n"), Just("\n \n")],
            ) {
                let stderr = format!("{}{P}{reason}\n{blank}", log.iter().map(|l| format!("{l}\n")).collect::<String>());
                let want = if reason.trim().is_empty() { ExitReason::Empty } else { ExitReason::Found(reason.trim()) };
                prop_assert_eq!(exit_reason(&stderr, P), want);
            }
        }
    }
}
