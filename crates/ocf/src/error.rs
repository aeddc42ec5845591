//! The typed boundary between an action and Pacemaker: an exit code plus one operator-facing sentence.

use std::error::Error as StdError;
use std::fmt;

use crate::OcfCode;

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

    /// Attach the underlying error; it is logged, the reason stays the operator's sentence.
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

/// Classify an error where the knowledge is: `x.ocf(OcfCode::ErrInstalled, "ip(8) not found")?`.
pub trait OcfResultExt<T> {
    /// Map the error to `code` with `reason`, keeping the original as the source.
    fn ocf(self, code: OcfCode, reason: impl Into<String>) -> Result<T, OcfError>;

    /// Like [`OcfResultExt::ocf`], with the reason built only on the error path.
    fn ocf_with<F: FnOnce() -> String>(self, code: OcfCode, reason: F) -> Result<T, OcfError>;
}

impl<T, E: Into<Source>> OcfResultExt<T> for Result<T, E> {
    fn ocf(self, code: OcfCode, reason: impl Into<String>) -> Result<T, OcfError> {
        self.map_err(|e| OcfError::new(code, reason).with_source(e))
    }

    fn ocf_with<F: FnOnce() -> String>(self, code: OcfCode, reason: F) -> Result<T, OcfError> {
        self.map_err(|e| OcfError::new(code, reason()).with_source(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_walks_the_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let r: Result<(), _> = Err(io);
        let err = r.ocf(OcfCode::ErrInstalled, "mariadbd not found").unwrap_err();
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
}
