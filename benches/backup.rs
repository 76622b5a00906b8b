//! Backup benchmark on the real Docker Engine with the locally built images, side by side in one
//! run on the same stack and data:
//!
//! - **kestractl**: `kestractl backup` (online), then `kestractl backup verify` on its archive.
//! - **The runbook's way** (docs/operations.md §4, "by hand", which is what an ops team's shell
//!   wrapper does): `docker exec … pg_dump -Fc > kestra.dump` and `tar -czf storage.tgz storage`,
//!   then the nearest check it has, `pg_restore --list` of the dump. Its best honest settings:
//!   pg_dump's own default compression (one pass), gzip's default level.
//!
//! The data: BENCH_EXECUTIONS rows of about 1 KiB of JSON in a table of Kestra's database (as
//! executions are), and BENCH_STORAGE_MIB of incompressible files in the storage directory.
//! Reported: wall time of each way, median of BENCH_RUNS, and kestractl's peak memory (max RSS,
//! from /usr/bin/time), which must stay flat whatever the size of the data (the dump is streamed).
//!
//! Run: `cargo bench --bench backup` (BENCH_EXECUTIONS=100000 BENCH_STORAGE_MIB=256 BENCH_RUNS=3).

// Benchmark harness: a failed expectation is a failed run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use kestra_emulator::testkit::{StackNames, free_port, median};

const PASSWORD: &str = "Bench-Passw0rd-backup";
const POSTGRES_IMAGE: &str = "kestractl-test/postgres:15";
const EMULATOR_IMAGE: &str = "kestractl-test/kestra-emulator:dev";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ok(out: std::process::Output, what: &str) -> std::process::Output {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

struct Stack {
    name: String,
    data: PathBuf,
    http: u16,
    mgmt: u16,
}

impl Stack {
    fn kestractl(&self, timed: bool) -> Command {
        let mut cmd = if timed {
            let mut c = Command::new("/usr/bin/time");
            c.args(["-f", "maxrss_kib=%M", env!("CARGO_BIN_EXE_kestractl")]);
            c
        } else {
            Command::new(env!("CARGO_BIN_EXE_kestractl"))
        };
        cmd.env("KESTRA_CONTAINER_NAME", &self.name)
            .env("KESTRA_DB_VOLUME", format!("{}-pgdata", self.name))
            .env("KESTRA_HTTP_PORT", self.http.to_string())
            .env("KESTRA_MANAGEMENT_PORT", self.mgmt.to_string())
            .env("KESTRA_IMAGE", EMULATOR_IMAGE)
            .env("KESTRA_POSTGRES_IMAGE", POSTGRES_IMAGE)
            .env("KESTRACTL_DATA_DIR", &self.data)
            .env("KESTRACTL_CONFIG_DIR", self.data.join("cfg"))
            .env("KESTRACTL_KEYRING", "none")
            .env("KESTRACTL_PASSWORD", PASSWORD);
        cmd
    }

    fn postgres(&self) -> String {
        StackNames::new(&self.name).postgres
    }

    fn storage(&self) -> PathBuf {
        self.data.join(&self.name).join("storage")
    }
}

fn max_rss_kib(stderr: &[u8]) -> u64 {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("maxrss_kib="))
        .filter_map(|v| v.trim().parse().ok())
        .next_back()
        .unwrap_or(0)
}

fn fill(stack: &Stack, executions: u64, storage_mib: u64) {
    let sql = format!(
        "CREATE TABLE bench_executions AS SELECT g AS id, \
         json_build_object('id', md5(g::text), 'namespace', 'bench.ns', 'flowId', 'flow_' || (g % 50), \
         'state', json_build_object('current', 'SUCCESS', 'histories', \
         (SELECT json_agg(json_build_object('state', s, 'date', now() - (g || ' seconds')::interval)) \
          FROM unnest(ARRAY['CREATED','RUNNING','SUCCESS']) s)), \
         'labels', json_build_array(json_build_object('key', 'team', 'value', md5((g*3)::text))), \
         'taskRunList', (SELECT json_agg(json_build_object('id', md5((g*t)::text), 'taskId', 'task_' || t)) \
          FROM generate_series(1, 4) t))::text AS doc \
         FROM generate_series(1, {executions}) g;"
    );
    ok(
        Command::new("docker")
            .args([
                "exec",
                "-u",
                "postgres",
                &stack.postgres(),
                "psql",
                "-X",
                "-q",
                "-U",
                "kestra",
                "-d",
                "kestra",
                "-c",
                &sql,
            ])
            .output()
            .unwrap(),
        "filling the database",
    );
    let dir = stack.storage().join("main/bench/ns/executions");
    std::fs::create_dir_all(&dir).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let files = 64u64;
    let per_file = storage_mib * 1024 * 1024 / files;
    for i in 0..files {
        let mut f = std::fs::File::create(dir.join(format!("output-{i}.bin"))).unwrap();
        let mut buf = vec![0u8; per_file as usize];
        for b in buf.iter_mut() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *b = state as u8;
        }
        f.write_all(&buf).unwrap();
    }
}

/// kestractl backup then verify: (backup seconds, verify seconds, archive bytes, backup max RSS).
fn kestractl_way(stack: &Stack, out: &Path) -> (f64, f64, u64, u64) {
    let _ = std::fs::remove_file(out);
    let started = Instant::now();
    let run = ok(
        stack
            .kestractl(true)
            .args(["backup", "--file"])
            .arg(out)
            .output()
            .unwrap(),
        "kestractl backup",
    );
    let backup = started.elapsed().as_secs_f64();
    let rss = max_rss_kib(&run.stderr);
    let started = Instant::now();
    ok(
        stack
            .kestractl(false)
            .args(["backup", "verify"])
            .arg(out)
            .output()
            .unwrap(),
        "kestractl backup verify",
    );
    let verify = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(out).unwrap().len();
    std::fs::remove_file(out).unwrap();
    (backup, verify, size, rss)
}

/// The runbook's commands: (backup seconds, check seconds, bytes of dump + storage archive).
fn runbook_way(stack: &Stack, dir: &Path) -> (f64, f64, u64) {
    let dump = dir.join("kestra.dump");
    let tgz = dir.join("storage.tgz");
    let started = Instant::now();
    let file = std::fs::File::create(&dump).unwrap();
    ok(
        Command::new("docker")
            .args([
                "exec",
                "-u",
                "postgres",
                &stack.postgres(),
                "pg_dump",
                "-U",
                "kestra",
                "-d",
                "kestra",
                "-Fc",
            ])
            .stdout(Stdio::from(file))
            .output()
            .unwrap(),
        "pg_dump",
    );
    ok(
        Command::new("tar")
            .arg("-C")
            .arg(stack.data.join(&stack.name))
            .arg("-czf")
            .arg(&tgz)
            .arg("storage")
            .output()
            .unwrap(),
        "tar",
    );
    let backup = started.elapsed().as_secs_f64();
    let started = Instant::now();
    ok(
        Command::new("docker")
            .args([
                "exec",
                "-i",
                "-u",
                "postgres",
                &stack.postgres(),
                "pg_restore",
                "--list",
            ])
            .stdin(Stdio::from(std::fs::File::open(&dump).unwrap()))
            .output()
            .unwrap(),
        "pg_restore --list",
    );
    let check = started.elapsed().as_secs_f64();
    let size = std::fs::metadata(&dump).unwrap().len() + std::fs::metadata(&tgz).unwrap().len();
    std::fs::remove_file(&dump).unwrap();
    std::fs::remove_file(&tgz).unwrap();
    (backup, check, size)
}

fn main() {
    let runs = env_or("BENCH_RUNS", 3);
    let executions = env_or("BENCH_EXECUTIONS", 100_000);
    let storage_mib = env_or("BENCH_STORAGE_MIB", 256);
    let root = tempfile::tempdir().unwrap();
    let stack = Stack {
        name: format!("kctl-bench-backup-{}", std::process::id()),
        data: root.path().join("data"),
        http: free_port(),
        mgmt: free_port(),
    };
    ok(
        stack
            .kestractl(false)
            .args(["start", "--pull", "never"])
            .output()
            .unwrap(),
        "kestractl start",
    );
    fill(&stack, executions, storage_mib);
    let out = root.path().join("bench.tar.gz");
    let (mut k_backup, mut k_verify, mut k_rss, mut r_backup, mut r_check) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut k_size, mut r_size) = (0, 0);
    for run in 1..=runs {
        // Alternate which way goes first, so neither always meets a cold cache.
        let mut one = |first_kestractl: bool| {
            if first_kestractl {
                let (b, v, s, rss) = kestractl_way(&stack, &out);
                k_backup.push(b);
                k_verify.push(v);
                k_rss.push(rss);
                k_size = s;
            } else {
                let (b, c, s) = runbook_way(&stack, root.path());
                r_backup.push(b);
                r_check.push(c);
                r_size = s;
            }
        };
        let order = run % 2 == 1;
        one(order);
        one(!order);
        eprintln!(
            "run {run}: kestractl backup {:.2} s, verify {:.2} s; runbook backup {:.2} s, check {:.2} s",
            k_backup.last().unwrap(),
            k_verify.last().unwrap(),
            r_backup.last().unwrap(),
            r_check.last().unwrap()
        );
    }
    StackNames::new(&stack.name).remove();
    let m = |v: Vec<f64>| median(v).unwrap();
    let (kb, kv, rb, rc) = (
        m(k_backup.clone()),
        m(k_verify.clone()),
        m(r_backup.clone()),
        m(r_check.clone()),
    );
    println!(
        "backup of {executions} executions (~1 KiB each) and {storage_mib} MiB of storage files, median of {runs}"
    );
    println!("| measure | kestractl | runbook | ratio (kestractl / runbook) |");
    println!("|---|---:|---:|---:|");
    println!("| backup (s) | {kb:.2} | {rb:.2} | {:.2} |", kb / rb);
    println!(
        "| check: verify / pg_restore --list (s) | {kv:.2} | {rc:.2} | {:.2} |",
        kv / rc
    );
    println!(
        "| backup + check (s) | {:.2} | {:.2} | {:.2} |",
        kb + kv,
        rb + rc,
        (kb + kv) / (rb + rc)
    );
    println!(
        "| bytes written | {k_size} | {r_size} | {:.2} |",
        k_size as f64 / r_size as f64
    );
    println!(
        "| kestractl backup peak memory (max RSS, KiB) | {} | | |",
        median(k_rss).unwrap()
    );
    println!(
        "per run: kestractl backup {k_backup:.2?} verify {k_verify:.2?}; runbook backup {r_backup:.2?} check {r_check:.2?}"
    );
}
