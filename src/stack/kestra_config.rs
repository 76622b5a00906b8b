//! Renders Kestra's `application.yml` for `server standalone` with Postgres, and Kestra's rules
//! for Basic Auth credentials (checked here, before a container refuses them at start-up).
//!
//! The file carries both passwords, so it is written 0600 and mounted read-only; no secret goes
//! into the container's environment (which `docker inspect` shows to anyone with the socket).

use serde::Serialize;

use crate::secret::Secret;

/// Where the file is mounted inside the Kestra container; `MICRONAUT_CONFIG_FILES` names it.
pub const CONFIG_MOUNT: &str = "/etc/kestractl/application.yml";
/// Where the Docker health check's curl finds the management credential (`curl -K`), so the
/// password is in neither the health check's command line nor `docker inspect`.
pub const HEALTH_CHECK_MOUNT: &str = "/etc/kestractl/management.curlrc";
/// Kestra's storage inside the container.
pub const STORAGE_MOUNT: &str = "/app/storage";

pub struct KestraConfigInput<'a> {
    pub postgres_host: &'a str,
    pub db_name: &'a str,
    pub db_user: &'a str,
    pub db_password: &'a Secret,
    pub username: &'a str,
    pub password: &'a Secret,
    /// Absolute path of the work directory, identical inside and outside the container.
    pub workdir: &'a str,
    /// `kestra.url`: how users reach the UI (used in links and execution URLs).
    pub url: &'a str,
}

#[derive(Serialize)]
struct Root<'a> {
    datasources: Datasources<'a>,
    kestra: Kestra<'a>,
    endpoints: Endpoints<'a>,
}

/// The management port (health, Prometheus, loggers, …). Kestra 1.3 leaves every endpoint open
/// (`endpoints.all.sensitive: false`); 2.0 makes them sensitive by default, which without a
/// security module means refused to everyone. `endpoints.all.basic-auth` turns on Kestra's
/// `BasicAuthEndpointsFilter` (core/.../endpoints/BasicAuthEndpointsFilter.java in 1.3.25), which
/// asks the credential on every `@Endpoint` of that port, `/health` included; `prometheus`
/// marked not sensitive so the credential, not Micronaut's blanket refusal, is what guards it on
/// 2.0. The same credential as the API, so one keyring entry and one rotation cover both.
#[derive(Serialize)]
struct Endpoints<'a> {
    all: AllEndpoints<'a>,
    prometheus: Sensitivity,
}

#[derive(Serialize)]
struct AllEndpoints<'a> {
    #[serde(rename = "basic-auth")]
    basic_auth: BasicAuth<'a>,
}

#[derive(Serialize)]
struct Sensitivity {
    sensitive: bool,
}

#[derive(Serialize)]
struct Datasources<'a> {
    postgres: Postgres<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Postgres<'a> {
    url: String,
    driver_class_name: &'static str,
    username: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct Kestra<'a> {
    server: Server<'a>,
    repository: Kind,
    queue: Kind,
    storage: Storage,
    tasks: Tasks,
    url: String,
}

#[derive(Serialize)]
struct Server<'a> {
    #[serde(rename = "basic-auth")]
    basic_auth: BasicAuth<'a>,
}

#[derive(Serialize)]
struct BasicAuth<'a> {
    username: &'a str,
    password: &'a str,
}

#[derive(Serialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct Storage {
    #[serde(rename = "type")]
    kind: &'static str,
    local: LocalStorage,
}

#[derive(Serialize)]
struct LocalStorage {
    #[serde(rename = "base-path")]
    base_path: &'static str,
}

#[derive(Serialize)]
struct Tasks {
    #[serde(rename = "tmp-dir")]
    tmp_dir: TmpDir,
}

#[derive(Serialize)]
struct TmpDir {
    path: String,
}

/// The YAML text. A serializer does the quoting, so any password character is safe.
pub fn render(input: &KestraConfigInput<'_>) -> anyhow::Result<String> {
    let root = Root {
        datasources: Datasources {
            postgres: Postgres {
                url: format!(
                    "jdbc:postgresql://{}:5432/{}",
                    input.postgres_host, input.db_name
                ),
                driver_class_name: "org.postgresql.Driver",
                username: input.db_user,
                password: input.db_password.expose(),
            },
        },
        kestra: Kestra {
            server: Server {
                basic_auth: BasicAuth {
                    username: input.username,
                    password: input.password.expose(),
                },
            },
            repository: Kind { kind: "postgres" },
            queue: Kind { kind: "postgres" },
            storage: Storage {
                kind: "local",
                local: LocalStorage {
                    base_path: STORAGE_MOUNT,
                },
            },
            tasks: Tasks {
                tmp_dir: TmpDir {
                    path: format!("{}/tmp", input.workdir.trim_end_matches('/')),
                },
            },
            url: format!("{}/", input.url.trim_end_matches('/')),
        },
        endpoints: Endpoints {
            all: AllEndpoints {
                basic_auth: BasicAuth {
                    username: input.username,
                    password: input.password.expose(),
                },
            },
            prometheus: Sensitivity { sensitive: false },
        },
    };
    let body = serde_saphyr::to_string(&root)
        .map_err(|e| anyhow::anyhow!("cannot render Kestra's configuration: {e}"))?;
    Ok(format!(
        "# Written by kestractl start; regenerated on every start. Holds secrets: keep it 0600.\n{body}"
    ))
}

/// The curl config the container's health check reads: the management port asks the same Basic
/// Auth credential as the API (see [`Endpoints`]). In curl's config syntax a double-quoted value
/// takes `\\` and `\"` escapes; a password has no line break (Kestra's rule refuses one).
pub fn render_health_check(username: &str, password: &Secret) -> String {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        "# Written by kestractl start: the management credential for the health check. 0600.\nuser = \"{}:{}\"\n",
        quote(username),
        quote(password.expose())
    )
}

/// Kestra's password rule, exactly as `BasicAuthService` applies it (1.3.25 and 2.0):
/// `(?=.{8,})(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).*` under Java's `matches()`, then a limit of 256
/// on `String.length()`. So: letter and digit classes are ASCII only (`É` is no upper-case
/// letter); `.` never matches a line terminator, so one anywhere fails the whole rule; the minimum
/// counts characters (code points) while the maximum counts UTF-16 units (an emoji is two).
/// A password Kestra refuses must be refused here: Kestra does not stop on it, it starts with no
/// credential at all. `None` when the password passes.
pub fn password_problem(password: &Secret) -> Option<String> {
    let p = password.expose();
    if p.chars().any(is_java_line_terminator) {
        return Some("Kestra refuses a password containing a line break".into());
    }
    if p.encode_utf16().count() > 256 {
        return Some(
            "it is longer than Kestra's limit of 256 characters (counted in UTF-16 units: characters outside the Basic Multilingual Plane, such as emoji, count twice)".into(),
        );
    }
    let mut missing = Vec::new();
    if p.chars().count() < 8 {
        missing.push("at least 8 characters");
    }
    if !p.chars().any(|c| c.is_ascii_uppercase()) {
        missing.push("an upper-case letter A-Z");
    }
    if !p.chars().any(|c| c.is_ascii_lowercase()) {
        missing.push("a lower-case letter a-z");
    }
    if !p.chars().any(|c| c.is_ascii_digit()) {
        missing.push("a digit 0-9");
    }
    (!missing.is_empty()).then(|| format!("Kestra requires {}", missing.join(", ")))
}

/// Kestra reads its configuration through Micronaut, which takes `${…}` in any value for a
/// property placeholder: an unknown name stops Kestra's start-up ("Could not resolve
/// placeholder"), a known one (an environment variable) silently replaces the text. Micronaut
/// has no escape for it, so a value holding `${` is refused before anything starts. `what` names
/// the value for the message; `None` when it is safe.
pub fn placeholder_problem(what: &str, value: &str) -> Option<String> {
    value.contains("${").then(|| {
        format!(
            "the {what} contains `${{`, which Kestra's configuration reader (Micronaut) takes for \
             a placeholder: Kestra would fail to start, or use another value in its place"
        )
    })
}

/// What Java's regex `.` does not match (without `UNIX_LINES`).
fn is_java_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// Reads back the Basic Auth password from a file this module rendered (so a later `start` with
/// no password given keeps the running credential instead of failing or rotating it).
pub fn basic_auth_password_of(rendered: &str) -> Option<Secret> {
    #[derive(serde::Deserialize)]
    struct R {
        kestra: K,
    }
    #[derive(serde::Deserialize)]
    struct K {
        server: S,
    }
    #[derive(serde::Deserialize)]
    struct S {
        #[serde(rename = "basic-auth")]
        basic_auth: B,
    }
    #[derive(serde::Deserialize)]
    struct B {
        password: String,
    }
    serde_saphyr::from_str::<R>(rendered)
        .ok()
        .map(|r| Secret::new(r.kestra.server.basic_auth.password))
}

/// Reads back the management port's credential (`endpoints.all.basic-auth`): what Kestra asks
/// there. `None` for a file rendered before kestractl protected that port.
pub fn management_credential_of(rendered: &str) -> Option<(String, Secret)> {
    #[derive(serde::Deserialize)]
    struct R {
        endpoints: E,
    }
    #[derive(serde::Deserialize)]
    struct E {
        all: A,
    }
    #[derive(serde::Deserialize)]
    struct A {
        #[serde(rename = "basic-auth")]
        basic_auth: B,
    }
    #[derive(serde::Deserialize)]
    struct B {
        username: String,
        password: String,
    }
    serde_saphyr::from_str::<R>(rendered).ok().map(|r| {
        let b = r.endpoints.all.basic_auth;
        (b.username, Secret::new(b.password))
    })
}

/// Reads back the Postgres password (`datasources.postgres.password`) from a rendered file.
pub fn datasource_password_of(rendered: &str) -> Option<Secret> {
    #[derive(serde::Deserialize)]
    struct R {
        datasources: D,
    }
    #[derive(serde::Deserialize)]
    struct D {
        postgres: P,
    }
    #[derive(serde::Deserialize)]
    struct P {
        password: String,
    }
    serde_saphyr::from_str::<R>(rendered)
        .ok()
        .map(|r| Secret::new(r.datasources.postgres.password))
}

/// The config `start` renders for a stack (shared with `auth rotate`, so both write the same
/// bytes for the same credentials).
pub fn render_for_stack(
    stack: &crate::settings::stack::StackSettings,
    username: &str,
    password: &Secret,
    db_password: &Secret,
) -> anyhow::Result<String> {
    let workdir = stack.workdir_dir.value.display().to_string();
    render(&KestraConfigInput {
        postgres_host: &stack.postgres_container,
        db_name: &stack.db_name.value,
        db_user: &stack.db_user.value,
        db_password,
        username,
        password,
        workdir: &workdir,
        url: &stack.local_url(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(pw: &'a Secret, db: &'a Secret) -> KestraConfigInput<'a> {
        KestraConfigInput {
            postgres_host: "tools-kestra-postgres",
            db_name: "kestra",
            db_user: "kestra",
            db_password: db,
            username: "admin@kestra.io",
            password: pw,
            workdir: "/srv/kestra/workdir",
            url: "http://localhost:8080",
        }
    }

    #[test]
    fn renders_the_keys_kestra_reads() {
        let pw = Secret::new("Adm1n-pass: #not a comment");
        let db = Secret::new("db'\"pw");
        let text = render(&input(&pw, &db)).unwrap();
        let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(
            v["datasources"]["postgres"]["url"],
            "jdbc:postgresql://tools-kestra-postgres:5432/kestra"
        );
        assert_eq!(v["datasources"]["postgres"]["password"], "db'\"pw");
        assert_eq!(
            v["datasources"]["postgres"]["driverClassName"],
            "org.postgresql.Driver"
        );
        assert_eq!(
            v["kestra"]["server"]["basic-auth"]["username"],
            "admin@kestra.io"
        );
        assert_eq!(
            v["kestra"]["server"]["basic-auth"]["password"],
            "Adm1n-pass: #not a comment"
        );
        assert_eq!(v["kestra"]["repository"]["type"], "postgres");
        assert_eq!(v["kestra"]["queue"]["type"], "postgres");
        assert_eq!(v["kestra"]["storage"]["local"]["base-path"], "/app/storage");
        assert_eq!(
            v["kestra"]["tasks"]["tmp-dir"]["path"],
            "/srv/kestra/workdir/tmp"
        );
        assert_eq!(v["kestra"]["url"], "http://localhost:8080/");
        // The management port asks the same credential; Prometheus is guarded by it, not refused.
        assert_eq!(
            v["endpoints"]["all"]["basic-auth"]["username"],
            "admin@kestra.io"
        );
        assert_eq!(
            v["endpoints"]["all"]["basic-auth"]["password"],
            "Adm1n-pass: #not a comment"
        );
        assert_eq!(v["endpoints"]["prometheus"]["sensitive"], false);
        let (user, pw) = management_credential_of(&text).unwrap();
        assert_eq!(
            (user.as_str(), pw.expose()),
            ("admin@kestra.io", "Adm1n-pass: #not a comment")
        );
        assert_eq!(
            basic_auth_password_of(&text).unwrap().expose(),
            "Adm1n-pass: #not a comment"
        );
        assert_eq!(datasource_password_of(&text).unwrap().expose(), "db'\"pw");
    }

    #[test]
    fn health_check_credential_is_quoted_for_curl() {
        let text = render_health_check("ops@example.com", &Secret::new(r#"Pa"ss\w0rd"#));
        assert!(
            text.ends_with("user = \"ops@example.com:Pa\\\"ss\\\\w0rd\"\n"),
            "{text}"
        );
    }

    /// The verdicts of Kestra's own pattern (checked with java.util.regex), edge cases included:
    /// a password Kestra refuses is refused here, and one it accepts is accepted.
    #[test]
    fn password_rule_matches_kestra_exactly() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/kestra/basic-auth-rules.json"
        );
        let rules: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = rules["passwords"].as_array().unwrap();
        assert!(cases.len() > 20);
        for case in cases {
            let value = case["value"].as_str().unwrap();
            let accepted = case["accepted"].as_bool().unwrap();
            let problem = password_problem(&Secret::new(value));
            assert_eq!(
                problem.is_none(),
                accepted,
                "{value:?} ({}): {problem:?}",
                case["why"]
            );
        }
    }

    #[test]
    fn placeholders_are_refused() {
        assert!(placeholder_problem("password", "Pass${word}1").is_some());
        assert!(placeholder_problem("password", "Pass${HOME}1").is_some());
        assert!(placeholder_problem("password", "Pa$s{word}1").is_none());
        assert!(placeholder_problem("password", "Pass$1{}").is_none());
        let p = placeholder_problem("Postgres password", "${x}").unwrap();
        assert!(p.starts_with("the Postgres password contains `${`"), "{p}");
    }

    #[test]
    fn password_policy() {
        assert!(password_problem(&Secret::new("Admin1234")).is_none());
        // Generated passwords always pass the policy they are generated for.
        let generated = crate::secret::generate::generate_password(32);
        assert!(password_problem(&generated).is_none());
        let p = password_problem(&Secret::new("admin")).unwrap();
        assert!(
            p.contains("at least 8") && p.contains("upper-case") && p.contains("digit"),
            "{p}"
        );
        assert!(
            password_problem(&Secret::new("Aa1".repeat(90)))
                .unwrap()
                .contains("256")
        );
    }
}
