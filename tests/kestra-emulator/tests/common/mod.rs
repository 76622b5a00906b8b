#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]
//! Shared helpers for the emulator's own tests.

use kestra_emulator::{Emulator, KestraVersion, Options};

pub const USER: &str = "admin@kestra.io";
pub const PASS: &str = "Admin1234";

pub async fn emu(v: KestraVersion) -> Emulator {
    kestra_emulator::start(Options::for_tests(v, USER, PASS))
        .await
        .unwrap()
}

pub async fn emu_with(opts: Options) -> Emulator {
    kestra_emulator::start(opts).await.unwrap()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::new()
}

pub fn get(e: &Emulator, path: &str) -> reqwest::RequestBuilder {
    client()
        .get(format!("{}{}", e.api_url(), path))
        .basic_auth(USER, Some(PASS))
}

pub fn post_yaml(e: &Emulator, path: &str, body: &str) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}{}", e.api_url(), path))
        .basic_auth(USER, Some(PASS))
        .header("content-type", "application/x-yaml")
        .body(body.to_string())
}

pub fn put_yaml(e: &Emulator, path: &str, body: &str) -> reqwest::RequestBuilder {
    client()
        .put(format!("{}{}", e.api_url(), path))
        .basic_auth(USER, Some(PASS))
        .header("content-type", "application/x-yaml")
        .body(body.to_string())
}

pub fn delete(e: &Emulator, path: &str) -> reqwest::RequestBuilder {
    client()
        .delete(format!("{}{}", e.api_url(), path))
        .basic_auth(USER, Some(PASS))
}

pub const BOTH: [KestraVersion; 2] = [KestraVersion::V1_3, KestraVersion::V2_0];
/// The released versions and the development line.
pub const ALL: [KestraVersion; 3] = [
    KestraVersion::V1_3,
    KestraVersion::V2_0,
    KestraVersion::V2_1Dev,
];

pub fn flow_yaml(ns: &str, id: &str) -> String {
    format!(
        "id: {id}\nnamespace: {ns}\n\ntasks:\n  - id: hello\n    type: io.kestra.plugin.core.log.Log\n    message: Hello from {id}\n"
    )
}
