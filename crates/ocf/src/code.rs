//! OCF exit codes as a type, so that no action can return a number Pacemaker does not know.

use std::fmt;

/// Exit codes of the OCF resource-agent API 1.1, plus Pacemaker's degraded codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OcfCode {
    /// Success; for monitor: running (unpromoted).
    Success = 0,
    /// Unspecified error; for monitor: failed or undetermined.
    ErrGeneric = 1,
    /// Parameters are invalid on this host (a missing file, an unknown interface).
    ErrArgs = 2,
    /// The action is not implemented.
    ErrUnimplemented = 3,
    /// Insufficient privilege.
    ErrPerm = 4,
    /// Required software is missing on this host.
    ErrInstalled = 5,
    /// Parameters are inherently invalid; Pacemaker stops the resource everywhere.
    ErrConfigured = 6,
    /// Monitor: cleanly stopped.
    NotRunning = 7,
    /// Monitor: running and promoted.
    RunningPromoted = 8,
    /// Monitor: promoted, but failed.
    FailedPromoted = 9,
    /// Monitor: running, but degraded.
    Degraded = 190,
    /// Monitor: promoted, but degraded.
    DegradedPromoted = 191,
}

impl OcfCode {
    /// The numeric exit status.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// The constant name used by resource-agents and Pacemaker.
    pub fn name(self) -> &'static str {
        match self {
            OcfCode::Success => "OCF_SUCCESS",
            OcfCode::ErrGeneric => "OCF_ERR_GENERIC",
            OcfCode::ErrArgs => "OCF_ERR_ARGS",
            OcfCode::ErrUnimplemented => "OCF_ERR_UNIMPLEMENTED",
            OcfCode::ErrPerm => "OCF_ERR_PERM",
            OcfCode::ErrInstalled => "OCF_ERR_INSTALLED",
            OcfCode::ErrConfigured => "OCF_ERR_CONFIGURED",
            OcfCode::NotRunning => "OCF_NOT_RUNNING",
            OcfCode::RunningPromoted => "OCF_RUNNING_PROMOTED",
            OcfCode::FailedPromoted => "OCF_FAILED_PROMOTED",
            OcfCode::Degraded => "OCF_DEGRADED",
            OcfCode::DegradedPromoted => "OCF_DEGRADED_PROMOTED",
        }
    }

    /// Whether this code reports a failure (and so must carry an exit reason).
    /// 7, 8, 190 and 191 are states a monitor reports, not failures.
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            OcfCode::ErrGeneric
                | OcfCode::ErrArgs
                | OcfCode::ErrUnimplemented
                | OcfCode::ErrPerm
                | OcfCode::ErrInstalled
                | OcfCode::ErrConfigured
                | OcfCode::FailedPromoted
        )
    }

    /// Every code, in numeric order.
    pub const ALL: [OcfCode; 12] = [
        OcfCode::Success,
        OcfCode::ErrGeneric,
        OcfCode::ErrArgs,
        OcfCode::ErrUnimplemented,
        OcfCode::ErrPerm,
        OcfCode::ErrInstalled,
        OcfCode::ErrConfigured,
        OcfCode::NotRunning,
        OcfCode::RunningPromoted,
        OcfCode::FailedPromoted,
        OcfCode::Degraded,
        OcfCode::DegradedPromoted,
    ];

    /// The code for a numeric status, if OCF defines one.
    pub fn from_u8(n: u8) -> Option<OcfCode> {
        OcfCode::ALL.into_iter().find(|c| c.as_u8() == n)
    }
}

impl fmt::Display for OcfCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.as_u8(), self.name())
    }
}

/// What a monitor found. Failures are [`crate::OcfError`] values, not states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Running in the unpromoted role (or a resource without roles).
    Running,
    /// Running in the promoted role.
    Promoted,
    /// Cleanly stopped.
    NotRunning,
    /// Running, but a failure is more likely than usual.
    Degraded,
    /// Promoted, but a failure is more likely than usual.
    DegradedPromoted,
}

impl Status {
    /// The exit code a monitor reports for this state.
    pub fn code(self) -> OcfCode {
        match self {
            Status::Running => OcfCode::Success,
            Status::Promoted => OcfCode::RunningPromoted,
            Status::NotRunning => OcfCode::NotRunning,
            Status::Degraded => OcfCode::Degraded,
            Status::DegradedPromoted => OcfCode::DegradedPromoted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_spec() {
        let numbers: Vec<u8> = OcfCode::ALL.iter().map(|c| c.as_u8()).collect();
        assert_eq!(numbers, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 190, 191]);
        for c in OcfCode::ALL {
            assert_eq!(OcfCode::from_u8(c.as_u8()), Some(c));
        }
        assert_eq!(OcfCode::from_u8(10), None);
        assert_eq!(OcfCode::from_u8(101), None);
    }

    #[test]
    fn only_real_failures_need_a_reason() {
        let failing: Vec<u8> =
            OcfCode::ALL.iter().filter(|c| c.is_failure()).map(|c| c.as_u8()).collect();
        assert_eq!(failing, [1, 2, 3, 4, 5, 6, 9]);
    }

    #[test]
    fn status_codes() {
        assert_eq!(Status::Running.code().as_u8(), 0);
        assert_eq!(Status::Promoted.code().as_u8(), 8);
        assert_eq!(Status::NotRunning.code().as_u8(), 7);
        assert_eq!(Status::DegradedPromoted.code().as_u8(), 191);
        assert_eq!(OcfCode::ErrConfigured.to_string(), "6 (OCF_ERR_CONFIGURED)");
    }
}
