//! What `doctor` found: one finding per check, in the order checked.

use serde::Serialize;

/// One finding.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// What was checked (`referrers API`).
    pub check: String,
    /// What the registry did (`absent (404)`).
    pub result: String,
    /// Whether it is what packreg prefers.
    pub ok: bool,
    /// What packreg does about it.
    pub action: String,
}

/// The findings so far.
#[derive(Debug, Default)]
pub(super) struct Findings(Vec<Finding>);

impl Findings {
    /// Adds a finding.
    pub(super) fn note(&mut self, check: &str, result: impl Into<String>, ok: bool, action: &str) {
        self.0.push(Finding {
            check: check.to_string(),
            result: result.into(),
            ok,
            action: action.to_string(),
        });
    }

    pub(super) fn into_vec(self) -> Vec<Finding> {
        self.0
    }
}
