//! Converts Kestra's OpenAPI documents (YAML, about 1 MB each) into compact JSON once at build
//! time: the emulator reads them at every start to know each route's media types and
//! parameters, and parsing the YAML there took a third of a second per version in a debug build.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    for version in ["1.3", "2.0"] {
        let src = manifest.join(format!(
            "../fixtures/kestra/openapi/kestra-ee-{version}.yml"
        ));
        println!("cargo:rerun-if-changed={}", src.display());
        let text = match std::fs::read_to_string(&src) {
            Ok(t) => t,
            Err(e) => panic!("cannot read {}: {e}", src.display()),
        };
        let spec: serde_json::Value = match serde_saphyr::from_str(&text) {
            Ok(v) => v,
            Err(e) => panic!("{} is not valid YAML: {e}", src.display()),
        };
        // Only what the router reads: the operations and the schemas they refer to.
        let kept = serde_json::json!({
            "paths": spec["paths"],
            "components": {"schemas": spec["components"]["schemas"]},
        });
        let dest = out.join(format!("kestra-{version}.json"));
        if let Err(e) = std::fs::write(&dest, kept.to_string()) {
            panic!("cannot write {}: {e}", dest.display());
        }
    }
}
