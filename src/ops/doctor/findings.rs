//! What `doctor` found: one finding per check, in the order checked.

use serde::Serialize;

use crate::ops::Remedy;

/// One finding.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// What was checked (`referrers API`).
    pub check: String,
    /// What the registry did (`absent (404)`).
    pub result: String,
    /// Whether it is what packreg prefers.
    pub ok: bool,
    /// What packreg does about it (empty where a remedy says what the user can do).
    pub action: String,
    /// What the user can do, for the front end to word as the action.
    #[serde(skip)]
    pub remedy: Option<Remedy>,
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
            remedy: None,
        });
    }

    /// Adds a finding whose action is a step for the user.
    pub(super) fn note_remedy(
        &mut self,
        check: &str,
        result: impl Into<String>,
        ok: bool,
        remedy: Remedy,
    ) {
        self.0.push(Finding {
            check: check.to_string(),
            result: result.into(),
            ok,
            action: String::new(),
            remedy: Some(remedy),
        });
    }

    pub(super) fn into_vec(self) -> Vec<Finding> {
        self.0
    }
}
