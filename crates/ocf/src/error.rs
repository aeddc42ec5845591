//! The typed boundary between an action and Pacemaker: an exit code plus one operator-facing sentence.

use std::error::Error as StdError;
use std::{fmt, io};

use crate::OcfCode;
use crate::exec::ExecError;

type Source = Box<dyn StdError + Send + Sync + 'static>;

/// A failure an action reports to Pacemaker: an [`OcfCode`] and one sentence, printed as the
/// `ocf-exit-reason:` line and shown by `crm_mon` as `exitreason=`.
#[derive(Debug)]
pub struct OcfError {
    code: OcfCode,
    reason: String,
    source: Option<Source>,
}

impl OcfError {
    /// A failure with `code` and `reason`.
    pub fn new(code: OcfCode, reason: impl Into<String>) -> Self {
        OcfError { code, reason: reason.into(), source: None }
    }

    /// OCF_ERR_GENERIC.
    pub fn generic(reason: impl Into<String>) -> Self {
        Self::new(OcfCode::ErrGeneric, reason)
    }

    /// OCF_ERR_CONFIGURED: the configuration is wrong on every node.
    pub fn configured(reason: impl Into<String>) -> Self {
        Self::new(OcfCode::ErrConfigured, reason)
    }

    /// OCF_ERR_ARGS: the configuration cannot work on this node.
    pub fn args(reason: impl Into<String>) -> Self {
        Self::new(OcfCode::ErrArgs, reason)
    }

    /// OCF_ERR_INSTALLED: software this agent needs is missing here.
    pub fn installed(reason: impl Into<String>) -> Self {
        Self::new(OcfCode::ErrInstalled, reason)
    }

    /// OCF_ERR_PERM.
    pub fn perm(reason: impl Into<String>) -> Self {
        Self::new(OcfCode::ErrPerm, reason)
    }

    /// OCF_ERR_UNIMPLEMENTED for `action`.
    pub fn unimplemented(action: &str) -> Self {
        Self::new(OcfCode::ErrUnimplemented, format!("action '{action}' is not implemented"))
    }

    /// Attach the underlying error: it is logged after the reason, which stays the operator's
    /// sentence. For a cause that is not already in the reason (never both).
    #[must_use]
    pub fn with_source(mut self, source: impl Into<Source>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The exit code.
    pub fn code(&self) -> OcfCode {
        self.code
    }

    /// The operator-facing sentence.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The reason followed by the chain of sources, for the log.
    pub fn detail(&self) -> String {
        let mut out = self.reason.clone();
        let mut next: Option<&(dyn StdError + 'static)> = self.source.as_deref().map(|s| s as _);
        while let Some(err) = next {
            out.push_str(": ");
            out.push_str(&err.to_string());
            next = err.source();
        }
        out
    }
}

impl fmt::Display for OcfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl StdError for OcfError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source.as_deref().map(|s| s as _)
    }
}

impl From<ExecError> for OcfError {
    /// A tool that is not there is OCF_ERR_INSTALLED; one that may not be run, OCF_ERR_PERM;
    /// one that timed out or failed, OCF_ERR_GENERIC. The reason is the error's own text (it
    /// names the tool, and for a failure quotes its last stderr line).
    fn from(e: ExecError) -> Self {
        let code = match &e {
            ExecError::NotFound { .. } => OcfCode::ErrInstalled,
            ExecError::Spawn { error, .. } if is_permission(error) => OcfCode::ErrPerm,
            ExecError::Spawn { .. } | ExecError::Timeout { .. } | ExecError::Failed { .. } => {
                OcfCode::ErrGeneric
            }
        };
        OcfError::new(code, e.to_string())
    }
}

fn is_permission(e: &io::Error) -> bool {
    errno_is_permission(e.raw_os_error()) || e.kind() == io::ErrorKind::PermissionDenied
}

fn errno_is_permission(errno: Option<i32>) -> bool {
    matches!(errno, Some(libc::EPERM | libc::EACCES))
}

impl OcfError {
    /// An operating-system failure while doing `what`: EPERM or EACCES is OCF_ERR_PERM,
    /// anything else OCF_ERR_GENERIC (a missing file is not "not installed": only a program
    /// that cannot be found when it is run is, see `From<ExecError>`). The reason is
    /// `<what>: <error>`.
    pub fn from_io(what: impl fmt::Display, e: io::Error) -> Self {
        let code = if is_permission(&e) { OcfCode::ErrPerm } else { OcfCode::ErrGeneric };
        OcfError::new(code, format!("{what}: {e}"))
    }

    /// Like [`OcfError::from_io`] for an error that carries an errno of its own (a kernel
    /// refusal over netlink): the code follows `errno`, the reason is `<what>: <cause>`.
    pub fn from_errno(
        what: impl fmt::Display,
        errno: Option<i32>,
        cause: impl fmt::Display,
    ) -> Self {
        let code = if errno_is_permission(errno) { OcfCode::ErrPerm } else { OcfCode::ErrGeneric };
        OcfError::new(code, format!("{what}: {cause}"))
    }

    /// Put what the agent was doing in front of the reason, keeping the code:
    /// `<what>: <reason>`.
    #[must_use]
    pub fn context(mut self, what: impl fmt::Display) -> Self {
        self.reason = format!("{what}: {}", self.reason);
        self
    }
}

/// [`OcfError::context`] on a `Result` whose error converts into an [`OcfError`] (an
/// [`ExecError`], an `OcfError`, an agent's backend error):
/// `exec::run("drbdadm", …).context("cannot bring r0 up")?`.
pub trait Context<T> {
    /// Classify the error and prefix its reason with `what`.
    fn context(self, what: impl fmt::Display) -> Result<T, OcfError>;

    /// Like [`Context::context`], with `what` built only on the error path.
    fn with_context<F: FnOnce() -> String>(self, what: F) -> Result<T, OcfError>;
}

impl<T, E: Into<OcfError>> Context<T> for Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T, OcfError> {
        self.map_err(|e| e.into().context(what))
    }

    fn with_context<F: FnOnce() -> String>(self, what: F) -> Result<T, OcfError> {
        self.map_err(|e| e.into().context(what()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn detail_walks_the_chain() {
        let io = io::Error::new(io::ErrorKind::NotFound, "no such file");
        let err = OcfError::installed("mariadbd not found").with_source(io);
        assert_eq!(err.code(), OcfCode::ErrInstalled);
        assert_eq!(err.reason(), "mariadbd not found");
        assert_eq!(err.to_string(), "mariadbd not found");
        assert_eq!(err.detail(), "mariadbd not found: no such file");
    }

    #[test]
    fn constructors() {
        assert_eq!(OcfError::configured("x").code(), OcfCode::ErrConfigured);
        assert_eq!(OcfError::args("x").code(), OcfCode::ErrArgs);
        assert_eq!(
            OcfError::unimplemented("promote").reason(),
            "action 'promote' is not implemented"
        );
    }

    #[test]
    fn tool_errors_are_classified_once() {
        let cases = [
            (ExecError::NotFound { program: "drbdadm".into() }, 5, "drbdadm: not found"),
            (
                ExecError::Spawn {
                    program: "x".into(),
                    error: io::Error::from_raw_os_error(libc::EACCES),
                },
                4,
                "x: cannot start: Permission denied (os error 13)",
            ),
            (
                ExecError::Timeout {
                    program: "hastctl".into(),
                    waited: Duration::from_millis(1500),
                },
                1,
                "hastctl: still running after 1500 ms, killed",
            ),
            (
                ExecError::Failed {
                    program: "mount".into(),
                    code: Some(32),
                    stderr: "bad fs\n".into(),
                },
                1,
                "mount: exit status 32: bad fs",
            ),
        ];
        for (e, code, reason) in cases {
            let err = OcfError::from(e);
            assert_eq!((err.code().as_u8(), err.reason()), (code, reason));
            assert_eq!(err.detail(), reason, "the cause is not repeated in the log");
        }
    }

    #[test]
    fn os_errors_by_errno() {
        let perm = OcfError::from_io("cannot open x", io::Error::from_raw_os_error(libc::EPERM));
        assert_eq!(perm.code(), OcfCode::ErrPerm);
        assert_eq!(perm.reason(), "cannot open x: Operation not permitted (os error 1)");
        let missing =
            OcfError::from_io("cannot open x", io::Error::from_raw_os_error(libc::ENOENT));
        assert_eq!(missing.code(), OcfCode::ErrGeneric, "a missing file is not a missing program");
        assert_eq!(OcfError::from_errno("add", Some(libc::EACCES), "no").code(), OcfCode::ErrPerm);
        assert_eq!(OcfError::from_errno("add", None, "bad reply").code(), OcfCode::ErrGeneric);
    }

    #[test]
    fn context_keeps_the_code() {
        let r: Result<(), ExecError> = Err(ExecError::NotFound { program: "hastctl".into() });
        let err = r.context("cannot read the HAST state").unwrap_err();
        assert_eq!(err.code(), OcfCode::ErrInstalled);
        assert_eq!(err.reason(), "cannot read the HAST state: hastctl: not found");
    }
}
