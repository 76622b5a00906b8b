//! Kestra's own flow corpus: every valid flow passes (save the documented exceptions), every
//! invalid one is rejected, on both versions.

use std::path::PathBuf;

use kestra_emulator::KestraVersion;
use kestra_emulator::validate::check;

fn dir(kind: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/kestra/flows")
        .join(kind)
}

fn files(kind: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir(kind))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Valid files Kestra itself would refuse on that version.
fn expected_invalid(name: &str, v: KestraVersion) -> bool {
    name == "pause.yaml" || (name == "logs.yaml" && v.is_v2())
}

#[test]
fn valids_are_accepted() {
    for v in [KestraVersion::V1_3, KestraVersion::V2_0] {
        let mut wrong = Vec::new();
        for (name, src) in files("valids") {
            let c = check(&src, v);
            if c.is_valid() == expected_invalid(&name, v) {
                wrong.push(format!("{name}: {:?}", c.constraints()));
            }
        }
        assert!(
            wrong.is_empty(),
            "{v}: {} misjudged:\n{}",
            wrong.len(),
            wrong.join("\n")
        );
    }
}

#[test]
fn invalids_are_rejected() {
    for v in [KestraVersion::V1_3, KestraVersion::V2_0] {
        let mut report = Vec::new();
        let mut accepted = Vec::new();
        for (name, src) in files("invalids") {
            let c = check(&src, v);
            match c.constraints() {
                Some(m) => report.push(format!("{name}: {m}")),
                None => accepted.push(name),
            }
        }
        println!("{v}:\n{}", report.join("\n"));
        // invalid-property.yaml needs the Return task's property schema (a plugin class).
        assert_eq!(accepted, vec!["invalid-property.yaml".to_string()], "{v}");
    }
}
