//! The environment, read once at start-up into a value that is passed down (tests build it from a
//! map; nothing calls `std::env` after `ocf::main`).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::Duration;

/// Every environment variable the agent was started with.
#[derive(Clone, Debug, Default)]
pub struct OcfEnv {
    vars: BTreeMap<String, String>,
}

const RESKEY: &str = "OCF_RESKEY_";
const META: &str = "OCF_RESKEY_CRM_meta_";

impl OcfEnv {
    /// From the process environment (`std::env::vars_os()`); non-UTF-8 values are converted lossily.
    pub fn from_vars(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let vars = vars
            .into_iter()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
            .collect();
        OcfEnv { vars }
    }

    /// From string pairs (tests).
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> Self {
        let vars =
            pairs.iter().map(|(k, v)| (k.as_ref().to_owned(), v.as_ref().to_owned())).collect();
        OcfEnv { vars }
    }

    /// From resource parameters given by name (tests): `("ip", "192.0.2.1")` becomes
    /// `OCF_RESKEY_ip=192.0.2.1`.
    pub fn from_params(params: &[(&str, &str)]) -> Self {
        let vars = params.iter().map(|(k, v)| (format!("{RESKEY}{k}"), (*v).to_owned())).collect();
        OcfEnv { vars }
    }

    /// A raw variable.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// A resource parameter (`OCF_RESKEY_<name>`); an empty value counts as unset, as in the
    /// shell agents.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.vars.get(&format!("{RESKEY}{name}")).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// A meta attribute (`OCF_RESKEY_CRM_meta_<name>`, with `-` written as `_`).
    pub fn meta(&self, name: &str) -> Option<&str> {
        let key = format!("{META}{}", name.replace('-', "_"));
        self.vars.get(&key).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Names of all `OCF_RESKEY_*` parameters that are set (meta attributes and
    /// `crm_feature_set` excluded).
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.vars
            .keys()
            .filter_map(|k| k.strip_prefix(RESKEY))
            .filter(|k| !k.starts_with("CRM_meta_") && *k != "crm_feature_set")
    }

    fn meta_bool(&self, name: &str) -> bool {
        self.meta(name).is_some_and(is_true)
    }

    fn meta_u32(&self, name: &str) -> Option<u32> {
        self.meta(name).and_then(|v| v.trim().parse().ok())
    }
}

/// The shell agents' `ocf_is_true`: yes, true, 1, on, y (any case).
pub fn is_true(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "yes" | "true" | "1" | "on" | "y")
}

/// The shell agents' false values: no, false, 0, off, n (any case).
pub fn is_false(v: &str) -> bool {
    matches!(v.trim().to_ascii_lowercase().as_str(), "no" | "false" | "0" | "off" | "n")
}

/// Clone and promotable meta attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloneMeta {
    /// Running as a clone (`clone_max` is set).
    pub is_clone: bool,
    /// A promotable clone (`promotable=true`, or the old `master_max > 0`).
    pub promotable: bool,
    /// `clone_max`.
    pub clone_max: Option<u32>,
    /// `clone_node_max`.
    pub clone_node_max: Option<u32>,
    /// `promoted_max` (or `master_max`).
    pub promoted_max: Option<u32>,
    /// `notify=true`.
    pub notify: bool,
    /// `globally_unique=true`.
    pub globally_unique: bool,
}

impl CloneMeta {
    /// Read from the environment.
    pub fn from_env(env: &OcfEnv) -> Self {
        let promoted_max = env.meta_u32("promoted_max").or_else(|| env.meta_u32("master_max"));
        CloneMeta {
            is_clone: env.meta("clone_max").is_some(),
            promotable: env.meta_bool("promotable") || promoted_max.is_some_and(|n| n > 0),
            clone_max: env.meta_u32("clone_max"),
            clone_node_max: env.meta_u32("clone_node_max"),
            promoted_max,
            notify: env.meta_bool("notify"),
            globally_unique: env.meta_bool("globally_unique"),
        }
    }
}

/// `pre` or `post`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyType {
    /// Before the operation.
    Pre,
    /// After the operation.
    Post,
}

/// The operation a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyOp {
    /// start
    Start,
    /// stop
    Stop,
    /// promote
    Promote,
    /// demote
    Demote,
}

/// A resource instance and the node it is on, as paired in the notify lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The clone instance, e.g. `db:1`.
    pub resource: String,
    /// The node name (empty when Pacemaker gave fewer unames than resources).
    pub uname: String,
}

/// The notification variables, as typed lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notify {
    /// pre/post.
    pub kind: NotifyType,
    /// start/stop/promote/demote.
    pub op: NotifyOp,
    /// Instances being started.
    pub start: Vec<Peer>,
    /// Instances being stopped.
    pub stop: Vec<Peer>,
    /// Instances active before the transition.
    pub active: Vec<Peer>,
    /// Instances being promoted.
    pub promote: Vec<Peer>,
    /// Instances being demoted.
    pub demote: Vec<Peer>,
    /// Instances promoted before the transition (falls back to the deprecated `master_*`).
    pub promoted: Vec<Peer>,
    /// Instances unpromoted before the transition (falls back to the deprecated `slave_*`).
    pub unpromoted: Vec<Peer>,
    /// Inactive instances (Pacemaker gives no unames for these).
    pub inactive: Vec<String>,
    /// Nodes the clone may run on.
    pub available_uname: Vec<String>,
    /// All nodes.
    pub all_uname: Vec<String>,
}

fn words(v: Option<&str>) -> Vec<String> {
    v.unwrap_or("").split_whitespace().map(str::to_owned).collect()
}

impl Notify {
    /// Read from the environment; `None` unless this is a notify with a known type and operation.
    pub fn from_env(env: &OcfEnv) -> Option<Notify> {
        let kind = match env.meta("notify_type")? {
            "pre" => NotifyType::Pre,
            "post" => NotifyType::Post,
            _ => return None,
        };
        let op = match env.meta("notify_operation")? {
            "start" => NotifyOp::Start,
            "stop" => NotifyOp::Stop,
            "promote" => NotifyOp::Promote,
            "demote" => NotifyOp::Demote,
            _ => return None,
        };
        let pairs = |name: &str| -> Vec<Peer> {
            let resources = words(env.meta(&format!("notify_{name}_resource")));
            let unames = words(env.meta(&format!("notify_{name}_uname")));
            resources
                .into_iter()
                .enumerate()
                .map(|(i, resource)| Peer {
                    resource,
                    uname: unames.get(i).cloned().unwrap_or_default(),
                })
                .collect()
        };
        let with_fallback = |new: &str, old: &str| {
            let v = pairs(new);
            if v.is_empty() { pairs(old) } else { v }
        };
        Some(Notify {
            kind,
            op,
            start: pairs("start"),
            stop: pairs("stop"),
            active: pairs("active"),
            promote: pairs("promote"),
            demote: pairs("demote"),
            promoted: with_fallback("promoted", "master"),
            unpromoted: with_fallback("unpromoted", "slave"),
            inactive: words(env.meta("notify_inactive_resource")),
            available_uname: words(env.meta("notify_available_uname")),
            all_uname: words(env.meta("notify_all_uname")),
        })
    }
}

/// Parse a duration as Pacemaker writes them: plain milliseconds in `CRM_meta_*`.
pub(crate) fn meta_ms(env: &OcfEnv, name: &str) -> Option<Duration> {
    env.meta(name).and_then(|v| v.trim().parse::<u64>().ok()).map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_and_meta() {
        let env = OcfEnv::from_pairs(&[
            ("OCF_RESKEY_ip", "192.0.2.10"),
            ("OCF_RESKEY_nic", ""),
            ("OCF_RESKEY_CRM_meta_on_node", "n1"),
            ("OCF_RESKEY_CRM_meta_clone_max", "3"),
            ("OCF_RESKEY_crm_feature_set", "3.16.2"),
            ("OCF_RESKEY_CRM_meta_promotable", "true"),
        ]);
        assert_eq!(env.param("ip"), Some("192.0.2.10"));
        assert_eq!(env.param("nic"), None, "an empty value counts as unset");
        assert_eq!(env.meta("on-node"), Some("n1"));
        assert_eq!(env.param_names().collect::<Vec<_>>(), ["ip", "nic"]);
        let c = CloneMeta::from_env(&env);
        assert!(c.is_clone && c.promotable);
        assert_eq!(c.clone_max, Some(3));
    }

    #[test]
    fn old_master_max_means_promotable() {
        let env = OcfEnv::from_pairs(&[("OCF_RESKEY_CRM_meta_master_max", "1")]);
        assert!(CloneMeta::from_env(&env).promotable);
        let env = OcfEnv::from_pairs(&[("OCF_RESKEY_CRM_meta_master_max", "0")]);
        assert!(!CloneMeta::from_env(&env).promotable);
    }

    #[test]
    fn notify_lists_pair_resources_with_unames() {
        let env = OcfEnv::from_pairs(&[
            ("OCF_RESKEY_CRM_meta_notify_type", "post"),
            ("OCF_RESKEY_CRM_meta_notify_operation", "promote"),
            ("OCF_RESKEY_CRM_meta_notify_promote_resource", "db:1 "),
            ("OCF_RESKEY_CRM_meta_notify_promote_uname", "n2"),
            ("OCF_RESKEY_CRM_meta_notify_active_resource", "db:0 db:1 db:2"),
            ("OCF_RESKEY_CRM_meta_notify_active_uname", "n1 n2 n3"),
            ("OCF_RESKEY_CRM_meta_notify_master_resource", "db:0"),
            ("OCF_RESKEY_CRM_meta_notify_master_uname", "n1"),
            ("OCF_RESKEY_CRM_meta_notify_inactive_resource", "db:3"),
        ]);
        let n = Notify::from_env(&env).unwrap();
        assert_eq!((n.kind, n.op), (NotifyType::Post, NotifyOp::Promote));
        assert_eq!(n.promote, [Peer { resource: "db:1".into(), uname: "n2".into() }]);
        assert_eq!(n.active.len(), 3);
        assert_eq!(n.active[2].uname, "n3");
        assert_eq!(n.promoted, [Peer { resource: "db:0".into(), uname: "n1".into() }]);
        assert!(n.stop.is_empty());
        assert_eq!(n.inactive, ["db:3"]);
    }

    #[test]
    fn notify_needs_type_and_operation() {
        let env = OcfEnv::from_pairs(&[("OCF_RESKEY_CRM_meta_notify_type", "post")]);
        assert_eq!(Notify::from_env(&env), None);
    }

    #[test]
    fn truth_values() {
        for v in ["yes", "TRUE", "1", "on", "y"] {
            assert!(is_true(v));
        }
        for v in ["no", "False", "0", "off", "n"] {
            assert!(is_false(v));
        }
        assert!(!is_true("maybe") && !is_false("maybe"));
    }
}
