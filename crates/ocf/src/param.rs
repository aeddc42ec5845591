//! One parameter table per agent: the single source for parsing, defaults, validation, meta-data
//! XML, the man page and the docs check.

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

/// Parameter values checked against a table: every required one is set and every value has its
/// declared type. Getters return the value or the table's default.
#[derive(Clone, Debug)]
pub struct Values<'a> {
    table: &'static [Param],
    env: &'a OcfEnv,
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
        Ok(Values { table, env })
    }

    /// Names of parameters that are set but not in the table (worth a warning: a typo, or an
    /// option of another agent).
    pub fn unknown(&self) -> Vec<&'a str> {
        self.env.param_names().filter(|n| !self.table.iter().any(|p| p.name == *n)).collect()
    }

    fn param(&self, name: &str) -> Option<&'static Param> {
        let found = self.table.iter().find(|p| p.name == name);
        debug_assert!(found.is_some(), "parameter '{name}' is not in the table");
        found
    }

    /// Whether the operator set this parameter (as opposed to taking the default).
    pub fn is_set(&self, name: &str) -> bool {
        self.env.param(name).is_some()
    }

    /// The value, or the default; `None` when neither exists.
    pub fn str(&self, name: &str) -> Option<&'a str> {
        let default = self.param(name).and_then(|p| p.default);
        self.env.param(name).or(default).filter(|v| !v.is_empty())
    }

    /// An integer value (checked by [`Values::parse`]).
    pub fn int(&self, name: &str) -> Option<i64> {
        self.str(name).and_then(|v| v.trim().parse().ok())
    }

    /// A boolean value; unset without a default is false.
    pub fn flag(&self, name: &str) -> bool {
        self.str(name).is_some_and(is_true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OcfCode;

    const TABLE: &[Param] = &[
        Param::string("ip").required().unique().desc("address", "The address."),
        Param::integer("arp_count", 0, 1000).default("5").desc("count", "How many."),
        Param::boolean("nodad").default("false").desc("no DAD", "Skip DAD."),
        Param::select("mode", &["a", "b"]).desc("mode", "The mode."),
    ];

    fn env(pairs: &[(&str, &str)]) -> OcfEnv {
        let pairs: Vec<(String, &str)> =
            pairs.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), *v)).collect();
        OcfEnv::from_pairs(&pairs)
    }

    #[test]
    fn defaults_and_values() {
        let e = env(&[("ip", "192.0.2.1"), ("nodad", "yes")]);
        let v = Values::parse(TABLE, &e).unwrap();
        assert_eq!(v.str("ip"), Some("192.0.2.1"));
        assert_eq!(v.int("arp_count"), Some(5));
        assert!(v.flag("nodad"));
        assert_eq!(v.str("mode"), None);
        assert!(!v.is_set("arp_count"));
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
    fn unknown_parameters_are_reported() {
        let e = env(&[("ip", "x"), ("lvs_support", "true")]);
        let v = Values::parse(TABLE, &e).unwrap();
        assert_eq!(v.unknown(), ["lvs_support"]);
    }
}
