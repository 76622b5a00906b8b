//! `kestractl config add|use|list|show|remove` through the binary, including every error an
//! operator can hit, each checked for its message and for leaving the config file untouched.

use crate::common::*;

fn add(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    sb.cmd()
        .args(["config", "add"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn add_list_use_remove_round_trip() {
    let sb = Sandbox::new();
    let out = add(&sb, &["local", "--server", "http://localhost:8080/"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("now the current context"));
    let out = add(
        &sb,
        &[
            "prod",
            "--server",
            "https://kestra.example.com",
            "--username",
            "ops@example.com",
            "--tenant",
            "main",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let list = sb.cmd().args(["config", "list"]).output().unwrap();
    assert_eq!(
        text(&list.stdout),
        "*\tlocal\thttp://localhost:8080\t\t\n\tprod\thttps://kestra.example.com\tmain\tops@example.com\n"
    );

    sb.cmd().args(["config", "use", "prod"]).assert().success();
    let json = stdout_json(
        &sb.cmd()
            .args(["config", "list", "-o", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(json[1]["name"], "prod");
    assert_eq!(json[1]["current"], true);
    assert_eq!(json[0]["current"], false);

    let show = stdout_json(
        &sb.cmd()
            .args(["config", "show", "-o", "json"])
            .output()
            .unwrap(),
    );
    let server = &show["settings"][1];
    assert_eq!(server["key"], "server");
    assert_eq!(server["value"], "https://kestra.example.com");
    assert_eq!(server["source"]["kind"], "config");
    assert_eq!(server["source"]["context"], "prod");

    let out = sb
        .cmd()
        .args(["config", "remove", "prod"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("no current context now"));
    let list = sb.cmd().args(["config", "list"]).output().unwrap();
    assert_eq!(text(&list.stdout), "\tlocal\thttp://localhost:8080\t\t\n");
    // The file never holds a password and says so.
    let file = sb.read_config().unwrap();
    assert!(file.contains("passwords are never stored here"), "{file}");
}

#[test]
fn add_errors_change_nothing() {
    let sb = Sandbox::new();
    add(&sb, &["local", "--server", "http://localhost:8080"]);
    let before = sb.read_config().unwrap();
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["local", "--server", "http://other:1"],
            "already exists",
            "--overwrite",
        ),
        (&["x"], "needs the server URL", "--server"),
        (
            &["x", "--server", "localhost:8080"],
            "must start with http://",
            "fix --server",
        ),
        (
            &["x", "--server", "http://"],
            "not a server URL",
            "fix --server",
        ),
        (
            &["x", "--server", "ftp://h"],
            "http:// or https://",
            "fix --server",
        ),
        (
            &["x", "--server", "http://h", "--tenant", "Main"],
            "not a valid tenant",
            "fix --tenant",
        ),
        (
            &["x", "--server", "http://h", "--username", "admin"],
            "e-mail",
            "fix --username",
        ),
        (
            &["bad name", "--server", "http://h"],
            "not a valid context name",
            "another name",
        ),
    ];
    for (args, message, hint) in cases {
        let out = add(&sb, args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        let stderr = text(&out.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stderr.contains(hint), "{args:?}: {stderr}");
        assert_eq!(
            sb.read_config().unwrap(),
            before,
            "{args:?} changed the file"
        );
    }
    // --overwrite replaces.
    let out = add(&sb, &["local", "--server", "http://other:1", "--overwrite"]);
    assert!(out.status.success());
    assert!(sb.read_config().unwrap().contains("http://other:1"));
}

#[test]
fn credentials_in_the_url_are_refused_without_echoing_them() {
    let sb = Sandbox::new();
    let out = add(
        &sb,
        &["x", "--server", "http://admin:Sup3rSecret@host:8080"],
    );
    out.assert_code(2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("contains credentials"), "{stderr}");
    assert!(!stderr.contains("Sup3rSecret"), "{stderr}");
    assert!(sb.read_config().is_none());
}

#[test]
fn use_and_remove_of_unknown_contexts() {
    let sb = Sandbox::new();
    let out = sb.cmd().args(["config", "use", "ghost"]).ran().code(2);
    assert!(text(&out.stderr).contains("no context named `ghost`"));
    assert!(text(&out.stderr).contains("kestractl config add"));
    assert!(sb.read_config().is_none(), "nothing may be created");

    add(&sb, &["a", "--server", "http://a:1"]);
    let before = sb.read_config().unwrap();
    let out = sb.cmd().args(["config", "remove", "ghost"]).ran().code(2);
    assert!(text(&out.stderr).contains("known contexts: a"));
    assert_eq!(sb.read_config().unwrap(), before);
}

#[test]
fn a_broken_config_file_is_reported_with_its_path_and_left_alone() {
    let sb = Sandbox::new();
    let broken = "current-context = \"a\"\n[contexts.a]\nhost = \"http://x\"\n";
    sb.write_config(broken);
    let out = sb.cmd().args(["config", "show"]).ran().code(1);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&sb.config_file().display().to_string()),
        "{stderr}"
    );
    assert!(stderr.contains("host"), "{stderr}");
    assert!(stderr.contains("hint: edit"), "{stderr}");
    let out = add(&sb, &["b", "--server", "http://b:1"]);
    out.assert_code(1);
    assert_eq!(sb.read_config().unwrap(), broken);
}

#[test]
fn a_password_in_the_config_file_is_refused_and_not_echoed() {
    let sb = Sandbox::new();
    sb.write_config("[contexts.a]\nserver = \"http://x:1\"\npassword = \"Admin1234\"\n");
    let out = sb.cmd().args(["config", "show"]).ran().code(1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("never keeps passwords"), "{stderr}");
    assert!(!stderr.contains("Admin1234"), "{stderr}");
}

#[test]
fn config_list_works_even_when_the_current_settings_are_broken() {
    let sb = Sandbox::new();
    add(&sb, &["a", "--server", "http://a:1"]);
    // The environment names a context that does not exist: API commands fail, config still works.
    let out = sb
        .cmd()
        .env("KESTRACTL_CONTEXT", "gone")
        .args(["server", "info"])
        .ran()
        .code(1);
    assert!(
        text(&out.stderr).contains("no context named `gone` (from environment KESTRACTL_CONTEXT)")
    );
    let out = sb
        .cmd()
        .env("KESTRACTL_CONTEXT", "gone")
        .args(["config", "list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("http://a:1"));
}

#[test]
fn a_context_pins_the_stack_image_below_kestra_image() {
    let sb = Sandbox::new();
    let out = add(
        &sb,
        &[
            "pinned",
            "--server",
            "http://localhost:8080",
            "--image",
            "kestra kestra",
        ],
    );
    out.assert_code(2);
    assert!(
        text(&out.stderr).contains("--image"),
        "{}",
        text(&out.stderr)
    );
    assert!(sb.read_config().is_none(), "nothing written on a refusal");

    add(
        &sb,
        &[
            "pinned",
            "--server",
            "http://localhost:8080",
            "--image",
            "kestra/kestra:2.0.5",
        ],
    )
    .assert_code(0);
    assert!(
        sb.read_config()
            .unwrap()
            .contains("image = \"kestra/kestra:2.0.5\"")
    );
    // `compose` renders the stack from the settings: the context's image.
    let out = sb.cmd().arg("compose").output().unwrap();
    out.assert_code(0);
    assert!(
        text(&out.stdout).contains("image: kestra/kestra:2.0.5"),
        "{}",
        text(&out.stdout)
    );
    // KESTRA_IMAGE wins over the context.
    let out = sb
        .cmd()
        .arg("compose")
        .env("KESTRA_IMAGE", "kestra/kestra:1.3.25")
        .output()
        .unwrap();
    assert!(
        text(&out.stdout).contains("image: kestra/kestra:1.3.25"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn current_names_the_context_in_use_and_what_chose_it() {
    let sb = Sandbox::new();
    assert!(
        add(&sb, &["local", "--server", "http://localhost:8080/"])
            .status
            .success()
    );
    assert!(
        add(&sb, &["prod", "--server", "https://kestra.example.com"])
            .status
            .success()
    );
    sb.cmd().args(["config", "use", "prod"]).assert().success();

    // Piped: the name alone, for `$(kestractl config current)`.
    let out = sb.cmd().args(["config", "current"]).ran().code(0);
    assert_eq!(text(&out.stdout), "prod\n");

    // --context and KESTRACTL_CONTEXT choose before the config file, and say so.
    let json = stdout_json(
        &sb.cmd()
            .args(["config", "current", "--context", "local", "-o", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(json["context"], "local");
    assert_eq!(json["source"]["kind"], "flag");
    let json = stdout_json(
        &sb.cmd()
            .env("KESTRACTL_CONTEXT", "local")
            .args(["config", "current", "-o", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(json["context"], "local");
    assert_eq!(json["source"]["kind"], "env");
    let json = stdout_json(
        &sb.cmd()
            .args(["config", "current", "-o", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(json["source"]["kind"], "current-context");

    // An unknown context is refused with the known ones, and the config file is untouched.
    let before = std::fs::read(sb.config_file()).unwrap();
    let out = sb
        .cmd()
        .args(["config", "current", "--context", "ghost"])
        .ran()
        .code(2);
    assert!(text(&out.stderr).contains("ghost"), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(sb.config_file()).unwrap(), before);
}
