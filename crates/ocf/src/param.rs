//! One parameter table per agent: the single source for parsing, defaults, validation, meta-data
//! XML, the man page and the docs check.

use std::time::Duration;

use crate::OcfError;
use crate::env::{OcfEnv, is_false, is_true};

/// The type of a parameter's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any string.
    String,
    /// A signed integer within `min..=max`.
    Integer {
        /// Smallest accepted value.
        min: i64,
        /// Largest accepted value.
        max: i64,
    },
    /// A boolean, in any of the shell agents' spellings (yes/no, true/false, 1/0, on/off).
    Boolean,
    /// One of a fixed set of strings. Written as `string` in meta-data (the DTD has no `select`),
    /// with the choices listed in the long description.
    Select(&'static [&'static str]),
}

/// One resource parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    /// Name (`OCF_RESKEY_<name>`).
    pub name: &'static str,
    /// Value type.
    pub kind: Kind,
    /// Must be set.
    pub required: bool,
    /// Must be unique across resources of this type.
    pub unique: bool,
    /// Default when unset or empty.
    pub default: Option<&'static str>,
    /// One line.
    pub shortdesc: &'static str,
    /// The full description.
    pub longdesc: &'static str,
}

impl Param {
    /// A string parameter.
    pub const fn string(name: &'static str) -> Param {
        Param {
            name,
            kind: Kind::String,
            required: false,
            unique: false,
            default: None,
            shortdesc: "",
            longdesc: "",
        }
    }

    /// An integer parameter in `min..=max`.
    pub const fn integer(name: &'static str, min: i64, max: i64) -> Param {
        Param { kind: Kind::Integer { min, max }, ..Param::string(name) }
    }

    /// A boolean parameter.
    pub const fn boolean(name: &'static str) -> Param {
        Param { kind: Kind::Boolean, ..Param::string(name) }
    }

    /// A parameter with a fixed set of values.
    pub const fn select(name: &'static str, choices: &'static [&'static str]) -> Param {
        Param { kind: Kind::Select(choices), ..Param::string(name) }
    }

    /// Mark as required.
    pub const fn required(self) -> Param {
        Param { required: true, ..self }
    }

    /// Mark as unique.
    pub const fn unique(self) -> Param {
        Param { unique: true, ..self }
    }

    /// Set the default.
    pub const fn default(self, v: &'static str) -> Param {
        Param { default: Some(v), ..self }
    }

    /// Set the descriptions.
    pub const fn desc(self, shortdesc: &'static str, longdesc: &'static str) -> Param {
        Param { shortdesc, longdesc, ..self }
    }

    /// The meta-data content type (DTD-compatible).
    pub fn content_type(&self) -> &'static str {
        match self.kind {
            Kind::String | Kind::Select(_) => "string",
            Kind::Integer { .. } => "integer",
            Kind::Boolean => "boolean",
        }
    }

    fn check(&self, value: &str) -> Result<(), OcfError> {
        let name = self.name;
        match self.kind {
            Kind::String => Ok(()),
            Kind::Integer { min, max } => match value.trim().parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(()),
                Ok(n) => Err(OcfError::configured(format!(
                    "parameter '{name}' is {n}, which is outside {min}..{max}"
                ))),
                Err(_) => Err(OcfError::configured(format!(
                    "parameter '{name}' must be an integer, not '{value}'"
                ))),
            },
            Kind::Boolean if is_true(value) || is_false(value) => Ok(()),
            Kind::Boolean => Err(OcfError::configured(format!(
                "parameter '{name}' must be true or false, not '{value}'"
            ))),
            Kind::Select(choices) if choices.contains(&value) => Ok(()),
            Kind::Select(choices) => Err(OcfError::configured(format!(
                "parameter '{name}' must be one of {}, not '{value}'",
                choices.join(", ")
            ))),
        }
    }
}

/// Parameter values read through a table: the value the operator set or the table's default.
///
/// [`Values::parse`] checks every value first (validate and the normal actions);
/// [`Values::unchecked`] does not, for the hooks that must act on a configuration that failed
/// validation ([`crate::Agent::stop_invalid`], [`crate::Agent::monitor_invalid`]). A getter takes
/// the table entry itself (`v.int(&PORT)`), so a name cannot be misspelt and the default is the
/// table's, never a second literal in the agent.
#[derive(Clone, Debug)]
pub struct Values<'a> {
    table: &'static [Param],
    env: &'a OcfEnv,
    checked: bool,
}

impl<'a> Values<'a> {
    /// Check `env` against `table`: OCF_ERR_CONFIGURED names the first missing or ill-typed
    /// parameter.
    pub fn parse(table: &'static [Param], env: &'a OcfEnv) -> Result<Values<'a>, OcfError> {
        for p in table {
            match env.param(p.name) {
                None if p.required => {
                    return Err(OcfError::configured(format!(
                        "required parameter '{}' is not set",
                        p.name
                    )));
                }
                None => {}
                Some(v) => p.check(v)?,
            }
        }
        Ok(Values { table, env, checked: true })
    }

    /// The values as given, without any check: strings (select values too) come back as set,
    /// a number that does not parse reads as the default (or `None`), and a required parameter
    /// may be missing. For acting on a configuration that failed validation.
    pub fn unchecked(table: &'static [Param], env: &'a OcfEnv) -> Values<'a> {
        Values { table, env, checked: false }
    }

    /// Names of parameters that are set but not in the table (worth a warning: a typo, or an
    /// option of another agent).
    pub fn unknown(&self) -> Vec<&'a str> {
        self.env.param_names().filter(|n| !self.table.iter().any(|p| p.name == *n)).collect()
    }

    fn known(&self, p: &Param) {
        debug_assert!(
            self.table.iter().any(|t| t.name == p.name),
            "parameter '{}' is not in the table",
            p.name
        );
    }

    /// A getter that cannot say "absent" is only for parameters that always have a value.
    fn always_set(&self, p: &Param) {
        debug_assert!(
            p.default.is_some() || (p.required && self.checked),
            "parameter '{}' has no default: use the opt_ getter",
            p.name
        );
    }

    /// The value, or the default; `None` when neither exists.
    pub fn opt_str(&self, p: &Param) -> Option<&'a str> {
        self.known(p);
        self.env.param(p.name).or(p.default).filter(|v| !v.is_empty())
    }

    /// The value or the default, of a parameter that has one (or is required).
    pub fn str(&self, p: &Param) -> &'a str {
        self.always_set(p);
        self.opt_str(p).unwrap_or_default()
    }

    /// An integer value or the default; `None` when neither exists (or, unchecked, neither
    /// parses).
    pub fn opt_int(&self, p: &Param) -> Option<i64> {
        self.known(p);
        let number = |v: &str| v.trim().parse::<i64>().ok();
        self.env.param(p.name).and_then(number).or_else(|| p.default.and_then(number))
    }

    /// The integer value or the default, of a parameter that has one.
    pub fn int(&self, p: &Param) -> i64 {
        self.always_set(p);
        self.opt_int(p).unwrap_or_default()
    }

    /// The integer as the type the agent uses; the table's range must fit `T` (zero when it does
    /// not; debug builds assert).
    pub fn num<T: TryFrom<i64> + Default>(&self, p: &Param) -> T {
        if let Kind::Integer { min, max } = p.kind {
            debug_assert!(
                T::try_from(min).is_ok() && T::try_from(max).is_ok(),
                "the range of parameter '{}' does not fit the type asked for",
                p.name
            );
        }
        T::try_from(self.int(p)).unwrap_or_default()
    }

    /// A number of seconds.
    pub fn secs(&self, p: &Param) -> Duration {
        Duration::from_secs(self.num(p))
    }

    /// A number of seconds, `None` when unset without a default.
    pub fn opt_secs(&self, p: &Param) -> Option<Duration> {
        self.opt_int(p).and_then(|n| u64::try_from(n).ok()).map(Duration::from_secs)
    }

    /// A number of milliseconds.
    pub fn millis(&self, p: &Param) -> Duration {
        Duration::from_millis(self.num(p))
    }

    /// A boolean value; unset without a default is false.
    pub fn flag(&self, p: &Param) -> bool {
        self.opt_str(p).is_some_and(is_true)
    }

    /// The value split into words by [`split_words`] (empty when unset); OCF_ERR_CONFIGURED
    /// naming the parameter when a quote is not closed.
    pub fn words(&self, p: &Param) -> Result<Vec<String>, OcfError> {
        let text = self.opt_str(p).unwrap_or("");
        split_words(text).ok_or_else(|| {
            OcfError::configured(format!(
                "parameter '{}': an unclosed quote or a trailing backslash",
                p.name
            ))
        })
    }
}

/// Split a command-line parameter into words as a POSIX shell splits plain words, without
/// running one: spaces, tabs and newlines separate; `'…'` is literal; in `"…"` a backslash
/// escapes `$`, `` ` ``, `"`, `\` and a newline; outside quotes a backslash escapes the next
/// character; a word that starts with `#` begins a comment up to the end of the line. Nothing is
/// expanded (no variables, globs or substitutions). `None` for an unclosed quote or a trailing
/// backslash. (The `shlex` crate, fuzzed upstream.)
pub fn split_words(text: &str) -> Option<Vec<String>> {
    shlex::split(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OcfCode;

    const IP: Param = Param::string("ip").required().unique().desc("address", "The address.");
    const ARP_COUNT: Param =
        Param::integer("arp_count", 0, 1000).default("5").desc("count", "How many.");
    const NODAD: Param = Param::boolean("nodad").default("false").desc("no DAD", "Skip DAD.");
    const MODE: Param = Param::select("mode", &["a", "b"]).desc("mode", "The mode.");
    const WAIT: Param = Param::integer("wait", 0, 60).desc("wait", "Seconds.");
    const ARGS: Param = Param::string("args").desc("args", "Words.");
    const TABLE: &[Param] = &[IP, ARP_COUNT, NODAD, MODE, WAIT, ARGS];

    fn env(pairs: &[(&str, &str)]) -> OcfEnv {
        OcfEnv::from_params(pairs)
    }

    #[test]
    fn defaults_and_values() {
        let e = env(&[("ip", "192.0.2.1"), ("nodad", "yes")]);
        let v = Values::parse(TABLE, &e).unwrap();
        assert_eq!(v.str(&IP), "192.0.2.1");
        assert_eq!(v.int(&ARP_COUNT), 5);
        assert_eq!(v.num::<u32>(&ARP_COUNT), 5);
        assert_eq!(v.secs(&ARP_COUNT), Duration::from_secs(5));
        assert_eq!(v.millis(&ARP_COUNT), Duration::from_millis(5));
        assert!(v.flag(&NODAD));
        assert_eq!(v.opt_str(&MODE), None);
        assert_eq!(v.opt_int(&WAIT), None);
        assert_eq!(v.opt_secs(&WAIT), None);
    }

    #[test]
    fn missing_required_is_configured_error_naming_it() {
        let e = env(&[("arp_count", "3")]);
        let err = Values::parse(TABLE, &e).unwrap_err();
        assert_eq!(err.code(), OcfCode::ErrConfigured);
        assert_eq!(err.reason(), "required parameter 'ip' is not set");
    }

    #[test]
    fn type_errors_name_the_parameter() {
        let cases = [
            (("arp_count", "-1"), "parameter 'arp_count' is -1, which is outside 0..1000"),
            (("arp_count", "five"), "parameter 'arp_count' must be an integer, not 'five'"),
            (("nodad", "perhaps"), "parameter 'nodad' must be true or false, not 'perhaps'"),
            (("mode", "c"), "parameter 'mode' must be one of a, b, not 'c'"),
        ];
        for ((k, val), want) in cases {
            let e = env(&[("ip", "x"), (k, val)]);
            let err = Values::parse(TABLE, &e).unwrap_err();
            assert_eq!(err.code(), OcfCode::ErrConfigured);
            assert_eq!(err.reason(), want);
        }
    }

    #[test]
    fn unchecked_values_are_as_given_with_table_defaults() {
        let e = env(&[("arp_count", "five"), ("mode", "c"), ("wait", "x")]);
        assert!(Values::parse(TABLE, &e).is_err());
        let v = Values::unchecked(TABLE, &e);
        assert_eq!(v.opt_str(&IP), None, "a required parameter may be missing");
        assert_eq!(v.int(&ARP_COUNT), 5, "a number that does not parse reads as the default");
        assert_eq!(v.opt_str(&MODE), Some("c"), "strings are not checked");
        assert_eq!(v.opt_int(&WAIT), None);
        assert!(!v.flag(&NODAD));
    }

    #[test]
    fn words_split_like_a_shell_without_one() {
        let split = |t: &str| split_words(t).unwrap();
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(split("  -c /etc/x.conf  --v "), ["-c", "/etc/x.conf", "--v"]);
        assert_eq!(split(r#"--name 'a b' "c \"d\"" e\ f"#), ["--name", "a b", "c \"d\"", "e f"]);
        assert_eq!(split("'$HOME' `x` ; --b='x y'"), ["$HOME", "`x`", ";", "--b=x y"]);
        assert_eq!(split("''"), [""]);
        assert_eq!(split("-v # a comment"), ["-v"]);
        for bad in ["'a", "\"a", "a\\"] {
            assert_eq!(split_words(bad), None, "{bad}");
        }
        let e = env(&[("ip", "x"), ("args", "--a 'b")]);
        let err = Values::parse(TABLE, &e).unwrap().words(&ARGS).unwrap_err();
        assert_eq!(err.code(), OcfCode::ErrConfigured);
        assert!(err.reason().starts_with("parameter 'args': "), "{}", err.reason());
    }

    #[test]
    fn unknown_parameters_are_reported() {
        let e = env(&[("ip", "x"), ("lvs_support", "true")]);
        let v = Values::parse(TABLE, &e).unwrap();
        assert_eq!(v.unknown(), ["lvs_support"]);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_text_splits_or_is_refused(text in any::<String>()) {
                let _ = split_words(&text);
            }

            /// Words quoted for a shell split back into the same words.
            #[test]
            fn quoted_words_split_back(words in prop::collection::vec("[^\u{0}]{0,12}", 0..6)) {
                let joined = shlex::try_join(words.iter().map(String::as_str)).unwrap();
                prop_assert_eq!(split_words(&joined), Some(words));
            }

            /// Any values pass the table's checks, or fail naming the parameter; what passes
            /// reads back within the table's ranges.
            #[test]
            fn any_values_are_checked_against_the_table(
                values in prop::collection::vec(
                    prop_oneof![any::<String>(), any::<i64>().prop_map(|n| n.to_string())],
                    TABLE.len(),
                ),
            ) {
                let pairs: Vec<(&str, &str)> =
                    TABLE.iter().zip(&values).map(|(p, v)| (p.name, v.as_str())).collect();
                let e = env(&pairs);
                match Values::parse(TABLE, &e) {
                    Ok(v) => {
                        prop_assert!((0..=1000).contains(&v.int(&ARP_COUNT)));
                        prop_assert!(v.opt_int(&WAIT).is_none_or(|n| (0..=60).contains(&n)));
                        prop_assert!(["a", "b"].contains(&v.opt_str(&MODE).unwrap_or("a")));
                        let _ = (v.flag(&NODAD), v.words(&ARGS));
                    }
                    Err(err) => {
                        prop_assert_eq!(err.code(), OcfCode::ErrConfigured);
                        let named = TABLE.iter().any(|p| err.reason().contains(&format!("'{}'", p.name)));
                        prop_assert!(named, "{}", err.reason());
                    }
                }
                // The lenient reading never panics either (stop and monitor of a bad config).
                let v = Values::unchecked(TABLE, &e);
                let _ = (v.opt_int(&WAIT), v.opt_secs(&WAIT), v.int(&ARP_COUNT), v.flag(&NODAD));
            }
        }
    }
}
