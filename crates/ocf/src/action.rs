//! The action comes from argv\[1\] only; OCF says every other argument is ignored.

use std::ffi::OsString;
use std::fmt;

/// An OCF action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Start the resource (unpromoted).
    Start,
    /// Stop the resource.
    Stop,
    /// Check the resource (`status` is an alias).
    Monitor,
    /// Promote a started instance.
    Promote,
    /// Demote a promoted instance.
    Demote,
    /// Clone notification.
    Notify,
    /// Apply changed reloadable parameters (OCF 1.1).
    ReloadAgent,
    /// Print the meta-data XML.
    MetaData,
    /// Check the configuration.
    ValidateAll,
    /// Print usage (also `help`).
    Usage,
}

impl Action {
    /// Parse an action name; `status` maps to monitor, `help` to usage.
    pub fn parse(name: &str) -> Option<Action> {
        Some(match name {
            "start" => Action::Start,
            "stop" => Action::Stop,
            "monitor" | "status" => Action::Monitor,
            "promote" => Action::Promote,
            "demote" => Action::Demote,
            "notify" => Action::Notify,
            "reload-agent" => Action::ReloadAgent,
            "meta-data" => Action::MetaData,
            "validate-all" => Action::ValidateAll,
            "usage" | "help" => Action::Usage,
            _ => return None,
        })
    }

    /// The action named by argv\[1\]; `Err` carries what was given (`None` when nothing was).
    pub fn from_args(args: impl IntoIterator<Item = OsString>) -> Result<Action, Option<String>> {
        let given = args.into_iter().nth(1).ok_or(None)?;
        let given = given.to_string_lossy().into_owned();
        Action::parse(&given).ok_or(Some(given))
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Monitor => "monitor",
            Action::Promote => "promote",
            Action::Demote => "demote",
            Action::Notify => "notify",
            Action::ReloadAgent => "reload-agent",
            Action::MetaData => "meta-data",
            Action::ValidateAll => "validate-all",
            Action::Usage => "usage",
        }
    }

    /// Actions answered without reading the environment or validating anything.
    pub fn is_static(self) -> bool {
        matches!(self, Action::MetaData | Action::Usage)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn action_is_argv1_only() {
        assert_eq!(Action::from_args(args(&["vip", "start"])), Ok(Action::Start));
        assert_eq!(Action::from_args(args(&["vip", "status", "extra"])), Ok(Action::Monitor));
        assert_eq!(Action::from_args(args(&["vip", "help"])), Ok(Action::Usage));
        assert_eq!(Action::from_args(args(&["vip"])), Err(None));
        assert_eq!(Action::from_args(args(&["vip", "reload"])), Err(Some("reload".into())));
        assert_eq!(Action::from_args(args(&["vip", "--start"])), Err(Some("--start".into())));
    }

    #[test]
    fn names_round_trip() {
        for a in [
            Action::Start,
            Action::Stop,
            Action::Monitor,
            Action::Promote,
            Action::Demote,
            Action::Notify,
            Action::ReloadAgent,
            Action::MetaData,
            Action::ValidateAll,
            Action::Usage,
        ] {
            assert_eq!(Action::parse(a.name()), Some(a));
        }
    }
}
