//! What happened to a master's colour, for the receipt, and how a profile is named there.

use moxcms::ColorProfile;

/// What happened to the master's colour, for the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColourOutcome {
    /// No embedded profile: taken as sRGB.
    AssumedSrgb,
    /// Converted from the embedded profile (its description, if any).
    Converted(String),
    /// The embedded profile could not be used; taken as sRGB.
    Ignored(String),
    /// A CMYK master without a profile, converted through the profile the image profile
    /// assumes for such masters: its description and path.
    AssumedCmyk { name: String, path: String },
    /// A CMYK master without a profile, converted by the textbook formula, as the image
    /// profile asks (`cmyk_default_profile = "naive"`).
    NaiveCmyk,
}

impl ColourOutcome {
    /// Whether the pixels were converted from another colour space into sRGB.
    pub fn converted(&self) -> bool {
        match self {
            ColourOutcome::Converted(_)
            | ColourOutcome::AssumedCmyk { .. }
            | ColourOutcome::NaiveCmyk => true,
            ColourOutcome::AssumedSrgb | ColourOutcome::Ignored(_) => false,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ColourOutcome::AssumedSrgb => "no embedded profile; taken as sRGB".into(),
            ColourOutcome::Converted(name) => {
                format!("converted to sRGB from embedded profile {name}")
            }
            ColourOutcome::Ignored(why) => {
                format!("embedded profile ignored ({why}); taken as sRGB")
            }
            ColourOutcome::AssumedCmyk { name, path } => {
                format!("no embedded profile; assumed the CMYK profile {name} ({path})")
            }
            ColourOutcome::NaiveCmyk => "no embedded profile; CMYK converted by the naive formula (image.cmyk_default_profile = \"naive\")".into(),
        }
    }
}

/// The profile's description as people read it ("Display P3", "U.S. Web Coated (SWOP) v2"),
/// quoted; `(unnamed)` without one.
pub(super) fn profile_name(profile: &ColorProfile) -> String {
    use moxcms::ProfileText;
    let text = match &profile.description {
        Some(ProfileText::PlainString(s)) => s.clone(),
        Some(ProfileText::Localizable(list)) => list
            .iter()
            .find(|l| l.language == "en")
            .or(list.first())
            .map(|l| l.value.clone())
            .unwrap_or_default(),
        Some(ProfileText::Description(d)) if !d.ascii_string.is_empty() => d.ascii_string.clone(),
        Some(ProfileText::Description(d)) => d.unicode_string.clone(),
        None => String::new(),
    };
    let text = text.trim_matches(char::from(0)).trim();
    if text.is_empty() {
        "(unnamed)".into()
    } else {
        format!("{text:?}")
    }
}
