//! The environment of one agent invocation, as Pacemaker builds it.

use std::collections::BTreeMap;

const RESKEY: &str = "OCF_RESKEY_";
const META: &str = "OCF_RESKEY_CRM_meta_";

/// The `PATH` an agent gets unless a test sets its own (the one `ferroha-check` uses).
pub const DEFAULT_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// The environment of one agent run: nothing but what is set here reaches the agent.
///
/// [`Env::new`] starts with what every action gets from Pacemaker: `PATH`, `OCF_ROOT`,
/// `OCF_RESOURCE_INSTANCE` and a 20 s `CRM_meta_timeout`. `CRM_meta_interval` is filled in per
/// action unless set: 10 s for `monitor` (a recurring monitor; [`Env::probe`] makes it a probe)
/// and 0 for every other action. Setting a name again replaces its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

/// `-` in a meta attribute's name is `_` in its variable (`promoted-max` →
/// `OCF_RESKEY_CRM_meta_promoted_max`).
fn meta_var(name: &str) -> String {
    format!("{META}{}", name.replace('-', "_"))
}

impl Env {
    /// The defaults, for resource instance `instance`.
    pub fn new(instance: &str) -> Env {
        Env { vars: BTreeMap::new() }
            .var("PATH", DEFAULT_PATH)
            .var("OCF_ROOT", "/usr/lib/ocf")
            .var("OCF_RESOURCE_INSTANCE", instance)
            .meta("timeout", "20000")
    }

    /// Set a raw variable.
    #[must_use]
    pub fn var(mut self, name: &str, value: impl AsRef<str>) -> Env {
        self.set_var(name, value);
        self
    }

    /// Set a raw variable in place.
    pub fn set_var(&mut self, name: &str, value: impl AsRef<str>) {
        self.vars.insert(name.to_owned(), value.as_ref().to_owned());
    }

    /// Remove a raw variable.
    #[must_use]
    pub fn unset(mut self, name: &str) -> Env {
        self.vars.remove(name);
        self
    }

    /// Set resource parameter `name` (`OCF_RESKEY_<name>`).
    #[must_use]
    pub fn param(self, name: &str, value: impl AsRef<str>) -> Env {
        self.var(&format!("{RESKEY}{name}"), value)
    }

    /// Set resource parameter `name` in place.
    pub fn set_param(&mut self, name: &str, value: impl AsRef<str>) {
        self.set_var(&format!("{RESKEY}{name}"), value);
    }

    /// Remove resource parameter `name`.
    #[must_use]
    pub fn unset_param(self, name: &str) -> Env {
        self.unset(&format!("{RESKEY}{name}"))
    }

    /// Set several resource parameters.
    #[must_use]
    pub fn params<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Env {
        pairs.iter().fold(self, |env, (k, v)| env.param(k.as_ref(), v))
    }

    /// Resource parameter `name`, if set.
    pub fn get_param(&self, name: &str) -> Option<&str> {
        self.get(&format!("{RESKEY}{name}"))
    }

    /// The resource parameters that are set, by name (meta attributes excluded).
    pub fn param_pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().filter_map(|(k, v)| {
            let name = k.strip_prefix(RESKEY)?;
            (!name.starts_with("CRM_meta_")).then_some((name, v.as_str()))
        })
    }

    /// Set meta attribute `name` (`OCF_RESKEY_CRM_meta_<name>`, `-` written as `_`).
    #[must_use]
    pub fn meta(self, name: &str, value: impl AsRef<str>) -> Env {
        self.var(&meta_var(name), value)
    }

    /// `CRM_meta_timeout`, in milliseconds.
    #[must_use]
    pub fn timeout_ms(self, ms: u64) -> Env {
        self.meta("timeout", ms.to_string())
    }

    /// `CRM_meta_interval`, in milliseconds, for every action.
    #[must_use]
    pub fn interval_ms(self, ms: u64) -> Env {
        self.meta("interval", ms.to_string())
    }

    /// A probe: `CRM_meta_interval=0` whatever the action.
    #[must_use]
    pub fn probe(self) -> Env {
        self.interval_ms(0)
    }

    /// `CRM_meta_on_node`, this node's name.
    #[must_use]
    pub fn node(self, name: &str) -> Env {
        self.meta("on_node", name)
    }

    /// The metas of a promotable clone of `clone_max` instances, one promoted, with
    /// notifications.
    #[must_use]
    pub fn promotable(self, clone_max: u32) -> Env {
        self.meta("clone_max", clone_max.to_string())
            .meta("clone_node_max", "1")
            .meta("promotable", "true")
            .meta("promoted_max", "1")
            .meta("promoted_node_max", "1")
            .meta("notify", "true")
    }

    /// A notification: `notify_type` (`pre`/`post`) and `notify_operation`
    /// (`start`/`stop`/`promote`/`demote`). Add the lists with [`Env::notify_list`].
    #[must_use]
    pub fn notify(self, kind: &str, operation: &str) -> Env {
        self.meta("notify_type", kind).meta("notify_operation", operation)
    }

    /// One notify list, e.g. `promote` with `[("db:1", "n2")]`: sets
    /// `notify_<list>_resource` and `notify_<list>_uname` as space-separated lists in the same
    /// order, as Pacemaker does.
    #[must_use]
    pub fn notify_list(self, list: &str, peers: &[(&str, &str)]) -> Env {
        let resources: Vec<&str> = peers.iter().map(|(r, _)| *r).collect();
        let unames: Vec<&str> = peers.iter().map(|(_, u)| *u).collect();
        self.meta(&format!("notify_{list}_resource"), resources.join(" "))
            .meta(&format!("notify_{list}_uname"), unames.join(" "))
    }

    /// A raw variable, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// Every variable, with `CRM_meta_interval` filled in for `action` when it is not set.
    pub fn for_action(&self, action: &str) -> BTreeMap<String, String> {
        let mut vars = self.vars.clone();
        let interval = if action == "monitor" { "10000" } else { "0" };
        vars.entry(meta_var("interval")).or_insert_with(|| interval.to_owned());
        vars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ocf_env(env: &Env, action: &str) -> ocf::OcfEnv {
        let vars: Vec<(String, String)> = env.for_action(action).into_iter().collect();
        ocf::OcfEnv::from_pairs(&vars)
    }

    #[test]
    fn defaults_and_interval_per_action() {
        let env = Env::new("r1").param("ip", "192.0.2.1");
        let monitor = ocf_env(&env, "monitor");
        assert_eq!(monitor.var("OCF_RESOURCE_INSTANCE"), Some("r1"));
        assert_eq!(monitor.param("ip"), Some("192.0.2.1"));
        assert_eq!(monitor.meta("interval"), Some("10000"));
        assert_eq!(monitor.meta("timeout"), Some("20000"));
        assert_eq!(ocf_env(&env, "start").meta("interval"), Some("0"));
        assert_eq!(ocf_env(&env.clone().probe(), "monitor").meta("interval"), Some("0"));
        let names: Vec<&str> = monitor.param_names().collect();
        assert_eq!(names, ["ip"], "metas are not parameters");
        assert_eq!(env.param_pairs().collect::<Vec<_>>(), [("ip", "192.0.2.1")]);
    }

    #[test]
    fn set_replaces_and_unset_removes() {
        let mut env = Env::new("r").params(&[("a", "1"), ("b", "2")]);
        env.set_param("a", "3");
        let env = env.unset_param("b").meta("promoted-max", "1");
        assert_eq!(env.get_param("a"), Some("3"));
        assert_eq!(env.get_param("b"), None);
        assert_eq!(env.get("OCF_RESKEY_CRM_meta_promoted_max"), Some("1"));
    }

    #[test]
    fn notify_variables_are_what_ocf_reads() {
        let env = Env::new("db")
            .promotable(3)
            .notify("post", "promote")
            .notify_list("promote", &[("db:1", "n2")])
            .notify_list("active", &[("db:0", "n1"), ("db:1", "n2")]);
        let ocf = ocf_env(&env, "notify");
        let clone = ocf::CloneMeta::from_env(&ocf);
        assert!(clone.promotable && clone.notify);
        assert_eq!((clone.clone_max, clone.promoted_max), (Some(3), Some(1)));
        let n = ocf::Notify::from_env(&ocf).expect("a notification");
        assert_eq!((n.kind, n.op), (ocf::NotifyType::Post, ocf::NotifyOp::Promote));
        let peer = |r: &str, u: &str| ocf::Peer { resource: r.into(), uname: u.into() };
        assert_eq!(n.promote, [peer("db:1", "n2")]);
        assert_eq!(n.active, [peer("db:0", "n1"), peer("db:1", "n2")]);
    }
}
