//! The XMP packet carrying a submission's title, creator and rights into public derivatives
//! (Dublin Core and XMP Rights Management, as Adobe tools, exiftool and IIIF viewers read them).

use caravan_proto::AssetMetadata;

/// An XMP packet for `meta`, or `None` when there is nothing to say.
pub fn packet(meta: &AssetMetadata) -> Option<Vec<u8>> {
    if meta.is_empty() {
        return None;
    }
    let mut fields = String::new();
    let alt = |name: &str, text: &str| {
        format!(
            "<{name}><rdf:Alt><rdf:li xml:lang=\"x-default\">{}</rdf:li></rdf:Alt></{name}>",
            escape(text)
        )
    };
    if let Some(title) = &meta.title {
        fields.push_str(&alt("dc:title", title));
    }
    if let Some(creator) = &meta.creator {
        fields.push_str(&format!(
            "<dc:creator><rdf:Seq><rdf:li>{}</rdf:li></rdf:Seq></dc:creator>",
            escape(creator)
        ));
    }
    if let Some(rights) = &meta.rights {
        fields.push_str(&alt("dc:rights", rights));
    }
    if let Some(uri) = &meta.rights_uri {
        fields.push_str(&format!(
            "<xmpRights:WebStatement>{}</xmpRights:WebStatement>",
            escape(uri)
        ));
    }
    Some(
        format!(
            "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\
             <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\
             <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
             <rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
             xmlns:xmpRights=\"http://ns.adobe.com/xap/1.0/rights/\">{fields}</rdf:Description>\
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
