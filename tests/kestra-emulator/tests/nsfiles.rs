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

/// 1.3.25 `NamespaceFileController.exportNamespaceFiles` (l.274-311): octet-stream only; a ZIP of
/// every file without its leading slash (folders skipped, a child namespace's files not
/// included), then the namespace's flows as `_flows/<id>.yml`; an unknown namespace gives an
/// empty archive.
#[tokio::test]
async fn export_zips_the_files_then_the_flows() {
    use std::io::Read;
    for v in ALL {
        let e = emu(v).await;
        for p in ["/a.txt", "/folder/sub/b.py"] {
            upload(&e, p).await;
        }
        let r = post_yaml(&e, "/api/v1/main/flows", &flow_yaml("company.team", "f1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = post_yaml(
            &e,
            "/api/v1/main/flows",
            &flow_yaml("company.team.child", "f2"),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
        let export = |ns: &str| {
            get(&e, &format!("/api/v1/main/namespaces/{ns}/files/export"))
                .header("accept", "application/octet-stream")
        };
        let r = export("company.team").send().await.unwrap();
        assert_eq!(r.status(), 200, "{v}");
        assert_eq!(
            r.headers()["content-disposition"],
            "attachment; filename=\"company.team_files.zip\""
        );
        let bytes = r.bytes().await.unwrap();
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
        let mut entries = Vec::new();
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).unwrap();
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            entries.push((entry.name().unwrap().to_string(), text));
        }
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["a.txt", "folder/sub/b.py", "_flows/f1.yml"], "{v}");
        assert_eq!(entries[0].1, "x");
        assert!(entries[2].1.contains("id: f1"), "{v}");
        // JSON is not what it produces.
        let r = get(&e, "/api/v1/main/namespaces/company.team/files/export")
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_ne!(r.status(), 200, "{v}");
        let r = export("nobody.here").send().await.unwrap();
        assert_eq!(r.status(), 200);
        let empty = r.bytes().await.unwrap();
        let zip = zip::ZipArchive::new(std::io::Cursor::new(empty.to_vec())).unwrap();
        assert_eq!(zip.len(), 0, "{v}");
    }
}
