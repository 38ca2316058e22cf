//! The unpacking limits: each `PACKREG_MAX_*` variable over its default. A value that is not a
//! positive whole number is ignored with a warning, as it always was.

use super::resolver::Resolver;
use super::setting::{Setting, Source};
use crate::limits::{
    UnpackLimits, ENV_MAX_ENTRIES, ENV_MAX_TAR_HEADER_BYTES, ENV_MAX_UNPACKED_BYTES,
    ENV_MAX_UNPACK_RATIO,
};

/// The unpacking limits in force, each with its source, and what the user should hear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitSettings {
    /// Each limit's variable and setting, in the order of [`UnpackLimits`]'s fields.
    pub settings: Vec<(&'static str, Setting<u64>)>,
    /// The limits as the library takes them.
    pub limits: UnpackLimits,
    /// Variables set to something unusable, and the default used instead.
    pub warnings: Vec<String>,
}

impl Resolver<'_> {
    fn limit(&self, var: &'static str, default: u64, warnings: &mut Vec<String>) -> Setting<u64> {
        let Some(text) = self.raw_var(var) else {
            return Setting {
                value: default,
                source: Source::Default,
            };
        };
        match text.trim().parse::<u64>() {
            Ok(n) if n > 0 => Setting {
                value: n,
                source: Source::Env(var),
            },
            _ => {
                warnings.push(format!(
                    "{var}={text:?} is not a positive whole number; using {default}"
                ));
                Setting {
                    value: default,
                    source: Source::Default,
                }
            }
        }
    }

    /// The unpacking limits.
    pub fn unpack_limits(&self) -> LimitSettings {
        let d = UnpackLimits::default();
        let mut warnings = Vec::new();
        let settings: Vec<(&'static str, Setting<u64>)> = [
            (ENV_MAX_UNPACKED_BYTES, d.max_unpacked_bytes),
            (ENV_MAX_UNPACK_RATIO, d.max_ratio),
            (ENV_MAX_ENTRIES, d.max_entries),
            (ENV_MAX_TAR_HEADER_BYTES, d.max_header_bytes),
        ]
        .into_iter()
        .map(|(var, default)| (var, self.limit(var, default, &mut warnings)))
        .collect();
        let value = |i: usize| settings[i].1.value;
        let limits = UnpackLimits {
            max_unpacked_bytes: value(0),
            max_ratio: value(1),
            max_entries: value(2),
            max_header_bytes: value(3),
        };
        LimitSettings {
            settings,
            limits,
            warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::file::ConfigFile;
    use super::*;

    #[test]
    fn variables_over_defaults_and_bad_ones_warn() {
        let f = ConfigFile::default();
        let vars = [
            (ENV_MAX_ENTRIES, "100"),
            (ENV_MAX_UNPACK_RATIO, "lots"),
            (ENV_MAX_TAR_HEADER_BYTES, "0"),
        ];
        let r = Resolver::with_env(&f, move |k| {
            vars.iter()
                .find(|(var, _)| *var == k)
                .map(|(_, v)| v.to_string())
        });
        let got = r.unpack_limits();
        let d = UnpackLimits::default();
        assert_eq!(got.limits.max_entries, 100);
        assert_eq!(got.limits.max_ratio, d.max_ratio);
        assert_eq!(got.limits.max_header_bytes, d.max_header_bytes);
        assert_eq!(got.limits.max_unpacked_bytes, d.max_unpacked_bytes);
        assert_eq!(got.settings[2].1.source, Source::Env(ENV_MAX_ENTRIES));
        assert_eq!(got.warnings.len(), 2, "{:?}", got.warnings);
        assert!(got.warnings[0].contains("PACKREG_MAX_UNPACK_RATIO=\"lots\""));
    }
}
