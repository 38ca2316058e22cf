//! What a user can do after a partial failure, named by what it does: the front end words it
//! in its own terms (its commands, flags and settings), which the library never names.

use serde::{Serialize, Serializer};

/// A step the user can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Remedy {
    /// Rebuild the store's pack index from the packs it holds.
    RebuildIndex,
    /// Check the registry's address and the credentials for it.
    CheckAddressAndCredentials,
    /// Name the packs: the registry cannot list them.
    NameThePacks,
    /// The page size of listings is a setting.
    PageSizeSetting,
    /// Push in the palette format, which this registry accepts.
    PushPaletteFormat,
}

/// An operation's warning: it succeeded, but something after it did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What happened.
    pub text: String,
    /// What to do about it, for the front end to word and add to the text.
    pub remedy: Option<Remedy>,
}

impl Warning {
    /// A warning with a step to take.
    pub fn with_remedy(text: impl Into<String>, remedy: Remedy) -> Self {
        Warning {
            text: text.into(),
            remedy: Some(remedy),
        }
    }
}

impl From<String> for Warning {
    fn from(text: String) -> Self {
        Warning { text, remedy: None }
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// A warning is its text in JSON (the front end adds the remedy's words first).
impl Serialize for Warning {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}
