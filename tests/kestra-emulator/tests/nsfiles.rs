//! Namespace files: the path search kestrapy drives (`searchNamespaceFiles`).

use crate::common::*;
use serde_json::{Value, json};

async fn upload(e: &kestra_emulator::Emulator, path: &str) {
    let form = reqwest::multipart::Form::new().part(
        "fileContent",
        reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("content"),
    );
    let r = client()
        .post(format!(
            "{}/api/v1/main/namespaces/company.team/files?path={path}",
            e.api_url()
        ))
        .basic_auth(USER, Some(PASS))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
}

/// 1.3.25 `NamespaceFileController.searchNamespaceFiles` and its test `searchNamespaceFiles`:
/// absolute paths of files (no folders) whose whole path contains `q`; `q` required.
#[tokio::test]
async fn search_lists_the_files_whose_path_contains_q() {
    for v in ALL {
        let e = emu(v).await;
        for p in [
            "/file.txt",
            "/another_file.json",
            "/folder/file.txt",
            "/folder/sub/script.py",
            "/README.md",
        ] {
            upload(&e, p).await;
        }
        let search = |q: &str| {
            get(
                &e,
                &format!("/api/v1/main/namespaces/company.team/files/search?q={q}"),
            )
        };
        for (q, expected) in [
            (
                "file",
                json!(["/another_file.json", "/file.txt", "/folder/file.txt"]),
            ),
            (
                "FILE",
                json!(["/another_file.json", "/file.txt", "/folder/file.txt"]),
            ),
            (
                "folder",
                json!(["/folder/file.txt", "/folder/sub/script.py"]),
            ),
            ("sub", json!(["/folder/sub/script.py"])),
            (
                "/",
                json!([
                    "/README.md",
                    "/another_file.json",
                    "/file.txt",
                    "/folder/file.txt",
                    "/folder/sub/script.py"
                ]),
            ),
            ("nothing", json!([])),
        ] {
            let r = search(q).send().await.unwrap();
            assert_eq!(r.status(), 200, "{v} q={q}");
            let got: Value = r.json().await.unwrap();
            assert_eq!(got, expected, "{v} q={q}");
        }
        let r = get(&e, "/api/v1/main/namespaces/company.team/files/search")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{v}");
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Required QueryValue [q] not specified")
        );
        e.shutdown().await;
    }
}
