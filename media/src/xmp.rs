//! The XMP packet carrying a submission's title, description, creator and rights (the texts in
//! every language the catalogue gives, as XMP language alternatives) into public derivatives
//! (Dublin Core and XMP Rights Management, as Adobe tools, exiftool and IIIF viewers read them),
//! and how the work was made (`Iptc4xmpExt:DigitalSourceType`: AI-generated art says so).

use caravan_proto::metadata::{TextField, NO_LANGUAGE};
use caravan_proto::AssetMetadata;

/// An XMP packet for `meta`, or `None` when there is nothing to say.
pub fn packet(meta: &AssetMetadata) -> Option<Vec<u8>> {
    if meta.is_empty() {
        return None;
    }
    let mut fields = String::new();
    // A language alternative: the untagged text as x-default (and under the submission's
    // language when it is known), then each translation under its tag.
    let own = meta.texts();
    let alt = |name: &str, field: TextField| {
        let texts = meta.in_languages(field);
        let default = field
            .of(&own)
            .or_else(|| meta.translations.values().find_map(|t| field.of(t)))?;
        let mut items = format!(
            "<rdf:li xml:lang=\"x-default\">{}</rdf:li>",
            escape(default)
        );
        for (language, text) in texts.iter().filter(|(l, _)| *l != NO_LANGUAGE) {
            items.push_str(&format!(
                "<rdf:li xml:lang=\"{}\">{}</rdf:li>",
                escape(language),
                escape(text)
            ));
        }
        Some(format!("<{name}><rdf:Alt>{items}</rdf:Alt></{name}>"))
    };
    if let Some(title) = alt("dc:title", TextField::Title) {
        fields.push_str(&title);
    }
    if let Some(description) = alt("dc:description", TextField::Description) {
        fields.push_str(&description);
    }
    if let Some(creator) = &meta.creator {
        fields.push_str(&format!(
            "<dc:creator><rdf:Seq><rdf:li>{}</rdf:li></rdf:Seq></dc:creator>",
            escape(creator)
        ));
    }
    if let Some(rights) = alt("dc:rights", TextField::Rights) {
        fields.push_str(&rights);
    }
    if let Some(uri) = &meta.rights_uri {
        fields.push_str(&format!(
            "<xmpRights:WebStatement>{}</xmpRights:WebStatement>",
            escape(uri)
        ));
    }
    let mut namespaces = String::new();
    if let Some(kind) = &meta.digital_source_type {
        namespaces.push_str(" xmlns:Iptc4xmpExt=\"http://iptc.org/std/Iptc4xmpExt/2008-02-29/\"");
        fields.push_str(&format!(
            "<Iptc4xmpExt:DigitalSourceType>{}</Iptc4xmpExt:DigitalSourceType>",
            escape(&caravan_proto::metadata::digital_source_type_uri(kind))
        ));
    }
    Some(
        format!(
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
             <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\
             <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
             xmlns:xmpRights=\"http://ns.adobe.com/xap/1.0/rights/\"{namespaces}>{fields}</rdf:Description>\
             </rdf:RDF></x:xmpmeta><?xpacket end=\"r\"?>"
        )
        .into_bytes(),
    )
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // XML 1.0 forbids most control characters, even escaped.
            c if c.is_control() && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
