use std::collections::BTreeSet;

use super::FailureCode;

#[test]
fn every_code_is_distinct_and_parses_back() {
    let strings: BTreeSet<&str> = FailureCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        strings.len(),
        FailureCode::ALL.len(),
        "a code string is used twice"
    );
    for &code in FailureCode::ALL {
        assert_eq!(FailureCode::parse(code.as_str()), Some(code));
        assert!(
            code.as_str()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{code}"
        );
        assert!(
            !code.meaning().is_empty() && !code.remedy().is_empty(),
            "{code}"
        );
    }
    assert_eq!(FailureCode::parse("no_such_code"), None);
}

#[test]
fn the_readme_failure_table_lists_every_code_with_its_meaning() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md beside the workspace");
    let rows: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `")).collect();
    for &code in FailureCode::ALL {
        let row = rows
            .iter()
            .find(|r| r.starts_with(&format!("| `{}` |", code.as_str())))
            .unwrap_or_else(|| panic!("README's failure table has no row for `{code}`"));
        assert!(
            row.contains(code.meaning()) && row.contains(code.remedy()),
            "README's row for `{code}` does not say what the catalogue says: {row}"
        );
    }
}
