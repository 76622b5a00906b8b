//! The Docker Engine, through bollard: connect (negotiating the API version of older engines),
//! inspect, create, start, stop, remove, logs, pull, stats. Errors name the engine address and
//! what to check.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerInspectResponse, ContainerSummary, NetworkCreateRequest, VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, ListContainersOptionsBuilder,
    LogsOptionsBuilder, RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
    RenameContainerOptionsBuilder, StatsOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::{Stream, StreamExt};

use super::spec::ContainerSpec;
use crate::error::{Error, Result};

pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

pub struct Engine {
    docker: Docker,
    /// What we connected to, for messages (`unix:///var/run/docker.sock`, `tcp://…`).
    pub host: String,
    pub version: String,
    pub api_version: String,
}

/// One progress event of an image pull.
#[derive(Debug, Clone)]
pub struct PullEvent {
    pub layer: Option<String>,
    pub status: String,
    pub current: Option<i64>,
    pub total: Option<i64>,
}

impl Engine {
    /// Connects to `DOCKER_HOST` (or the default socket), negotiates the API version (an old
    /// engine speaks an older one than bollard's default) and pings, so the first real call is
    /// not where an unreachable engine is discovered.
    pub async fn connect(docker_host: Option<&str>) -> Result<Engine> {
        let host = docker_host
            .filter(|h| !h.trim().is_empty())
            .unwrap_or(DEFAULT_HOST)
            .to_string();
        let unreachable = |reason: String| {
            Error::engine(
                format!("cannot reach the Docker Engine at {host}: {reason}"),
                engine_hint(&host, &reason),
            )
        };
        let docker = Docker::connect_with_host(&host)
            .map_err(|e| unreachable(describe(&e)))?
            .with_timeout(Duration::from_secs(120));
        let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
            .await
            .map_err(|_| unreachable("no answer within 10s".into()))?
            .map_err(|e| unreachable(describe(&e)))?;
        tokio::time::timeout(Duration::from_secs(10), docker.ping())
            .await
            .map_err(|_| unreachable("no answer within 10s".into()))?
            .map_err(|e| unreachable(describe(&e)))?;
        let v = docker
            .version()
            .await
            .map_err(|e| unreachable(describe(&e)))?;
        tracing::debug!(
            "docker: connected to {host} (engine {}, API {})",
            v.version.as_deref().unwrap_or("?"),
            v.api_version.as_deref().unwrap_or("?")
        );
        Ok(Engine {
            docker,
            host,
            version: v.version.unwrap_or_default(),
            api_version: v.api_version.unwrap_or_default(),
        })
    }

    /// The host path of the engine's socket when it is a local unix socket (mountable into
    /// Kestra for its Docker task runner); `None` for remote engines.
    pub fn local_socket(&self) -> Option<String> {
        self.host.strip_prefix("unix://").map(str::to_string)
    }

    pub fn is_local(&self) -> bool {
        self.host.starts_with("unix://")
    }

    fn fail(&self, what: &str, e: &BollardError) -> Error {
        let reason = describe(e);
        Error::engine(
            format!("Docker could not {what}: {reason}"),
            engine_hint(&self.host, &reason),
        )
    }

    /// `None` when no container has that name.
    pub async fn inspect(&self, name: &str) -> Result<Option<ContainerInspectResponse>> {
        tracing::debug!("docker: inspect container {name}");
        match self.docker.inspect_container(name, None).await {
            Ok(c) => Ok(Some(c)),
            Err(e) if status_of(&e) == Some(404) => Ok(None),
            Err(e) => Err(self.fail(&format!("inspect container {name}"), &e)),
        }
    }

    pub async fn image_present(&self, image: &str) -> Result<bool> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(self.fail(&format!("inspect image {image}"), &e)),
        }
    }

    /// The local ID of an image (`sha256:…`); empty when it is not here.
    pub async fn image_id(&self, image: &str) -> Result<String> {
        match self.docker.inspect_image(image).await {
            Ok(i) => Ok(i.id.unwrap_or_default()),
            Err(e) if status_of(&e) == Some(404) => Ok(String::new()),
            Err(e) => Err(self.fail(&format!("inspect image {image}"), &e)),
        }
    }

    /// Pulls an image, reporting each progress message to `on_event`.
    pub async fn pull(&self, image: &str, mut on_event: impl FnMut(PullEvent)) -> Result<()> {
        tracing::debug!("docker: pull {image}");
        let (name, tag) = split_image(image);
        let options = CreateImageOptionsBuilder::default()
            .from_image(name)
            .tag(tag)
            .build();
        let mut stream = self.docker.create_image(Some(options), None, None);
        while let Some(item) = stream.next().await {
            let info = item.map_err(|e| {
                Error::engine(
                    format!("cannot pull {image}: {}", describe(&e)),
                    "check the image name and that this machine can reach its registry \
                       (or use --pull never with an image that is already here)",
                )
            })?;
            if let Some(err) = info.error_detail.and_then(|d| d.message) {
                return Err(Error::engine(
                    format!("cannot pull {image}: {err}"),
                    "check the image name and the registry",
                ));
            }
            let detail = info.progress_detail;
            on_event(PullEvent {
                layer: info.id,
                status: info.status.unwrap_or_default(),
                current: detail.as_ref().and_then(|d| d.current),
                total: detail.as_ref().and_then(|d| d.total),
            });
        }
        Ok(())
    }

    /// Creates the network unless it exists. Returns whether it was created.
    pub async fn ensure_network(
        &self,
        name: &str,
        labels: &HashMap<String, String>,
    ) -> Result<bool> {
        match self.docker.inspect_network(name, None).await {
            Ok(_) => return Ok(false),
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => return Err(self.fail(&format!("inspect network {name}"), &e)),
        }
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            labels: Some(labels.clone()),
            ..NetworkCreateRequest::default()
        };
        self.docker
            .create_network(request)
            .await
            .map_err(|e| self.fail(&format!("create network {name}"), &e))?;
        Ok(true)
    }

    pub async fn remove_network(&self, name: &str) -> Result<bool> {
        tracing::debug!("docker: remove network {name}");
        match self.docker.remove_network(name).await {
            Ok(()) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(self.fail(&format!("remove network {name}"), &e)),
        }
    }

    /// Creates the named volume unless it exists (an existing one, e.g. from the seed's Compose
    /// stack, is reused: it holds the data). Returns whether it was created.
    pub async fn ensure_volume(
        &self,
        name: &str,
        labels: &HashMap<String, String>,
    ) -> Result<bool> {
        match self.docker.inspect_volume(name).await {
            Ok(_) => return Ok(false),
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => return Err(self.fail(&format!("inspect volume {name}"), &e)),
        }
        let request = VolumeCreateRequest {
            name: Some(name.to_string()),
            labels: Some(labels.clone()),
            ..VolumeCreateRequest::default()
        };
        self.docker
            .create_volume(request)
            .await
            .map_err(|e| self.fail(&format!("create volume {name}"), &e))?;
        Ok(true)
    }

    pub async fn remove_volume(&self, name: &str) -> Result<bool> {
        tracing::debug!("docker: remove volume {name}");
        let options = RemoveVolumeOptionsBuilder::default().build();
        match self.docker.remove_volume(name, Some(options)).await {
            Ok(()) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(self.fail(&format!("remove volume {name}"), &e)),
        }
    }

    pub async fn create(&self, spec: &ContainerSpec) -> Result<()> {
        tracing::debug!("docker: create container {} from {}", spec.name, spec.image);
        let options = CreateContainerOptionsBuilder::default()
            .name(&spec.name)
            .build();
        self.docker
            .create_container(Some(options), spec.body.clone())
            .await
            .map_err(|e| self.fail(&format!("create container {}", spec.name), &e))?;
        Ok(())
    }

    pub async fn start(&self, name: &str) -> Result<()> {
        tracing::debug!("docker: start container {name}");
        match self.docker.start_container(name, None).await {
            // 304: already running.
            Ok(()) => Ok(()),
            Err(e) if status_of(&e) == Some(304) => Ok(()),
            Err(e) => Err(self.fail(&format!("start container {name}"), &e)),
        }
    }

    /// Stops gracefully (SIGTERM, then SIGKILL after `grace`). Returns whether it was running.
    pub async fn stop(&self, name: &str, grace: Duration) -> Result<bool> {
        tracing::debug!("docker: stop container {name} (grace {}s)", grace.as_secs());
        let secs = i32::try_from(grace.as_secs()).unwrap_or(i32::MAX);
        let options = StopContainerOptionsBuilder::default().t(secs).build();
        match self.docker.stop_container(name, Some(options)).await {
            Ok(()) => Ok(true),
            Err(e) if matches!(status_of(&e), Some(304 | 404)) => Ok(false),
            Err(e) => Err(self.fail(&format!("stop container {name}"), &e)),
        }
    }

    pub async fn remove(&self, name: &str) -> Result<bool> {
        tracing::debug!("docker: remove container {name}");
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(false)
            .build();
        match self.docker.remove_container(name, Some(options)).await {
            Ok(()) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(self.fail(&format!("remove container {name}"), &e)),
        }
    }

    /// Removes a throw-away container and the anonymous volumes its image declared.
    pub async fn remove_with_volumes(&self, name: &str) -> Result<bool> {
        tracing::debug!("docker: remove container {name} and its anonymous volumes");
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match self.docker.remove_container(name, Some(options)).await {
            Ok(()) => Ok(true),
            Err(e) if status_of(&e) == Some(404) => Ok(false),
            Err(e) => Err(self.fail(&format!("remove container {name}"), &e)),
        }
    }

    pub async fn rename(&self, name: &str, new_name: &str) -> Result<()> {
        let options = RenameContainerOptionsBuilder::default()
            .name(new_name)
            .build();
        self.docker
            .rename_container(name, options)
            .await
            .map_err(|e| self.fail(&format!("rename container {name} to {new_name}"), &e))
    }

    /// Runs `cmd` as `user` in a running container, writes `stdin` to it and closes it, and
    /// returns the exit code and the combined output. Secrets go through `stdin` only: the
    /// command line is visible in the exec's inspect data, its input is not.
    pub async fn exec_with_stdin(
        &self,
        container: &str,
        user: &str,
        cmd: &[&str],
        stdin: &[u8],
        timeout: Duration,
    ) -> Result<(i64, String)> {
        let mut stdout = Vec::new();
        let run = self.exec_streaming(container, user, cmd, Some(stdin), &mut stdout, &|_| {});
        let Ok(ran) = tokio::time::timeout(timeout, run).await else {
            return Err(Error::engine(
                format!(
                    "the command run in {container} did not finish in {}s",
                    timeout.as_secs()
                ),
                format!("check the container (`docker logs {container}`)"),
            ));
        };
        let (code, stderr) = ran?;
        let mut text = String::from_utf8_lossy(&stdout).into_owned();
        text.push_str(&stderr);
        Ok((code, text))
    }

    /// Runs `cmd` as `user` in a running container with its standard input fed from `stdin` and
    /// its standard output written to `stdout` as it arrives, so a database dump or load of any
    /// size never sits in memory. `on_bytes` is told the running total of bytes moved (in or out,
    /// whichever is the payload). Returns the exit code and the end of standard error.
    pub async fn exec_streaming<R, W>(
        &self,
        container: &str,
        user: &str,
        cmd: &[&str],
        stdin: Option<R>,
        stdout: &mut W,
        on_bytes: &(dyn Fn(u64) + Sync),
    ) -> Result<(i64, String)>
    where
        R: tokio::io::AsyncRead + Unpin + Send,
        W: tokio::io::AsyncWrite + Unpin + Send,
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let what = format!(
            "run {} in container {container}",
            cmd.first().unwrap_or(&"")
        );
        let exec = self
            .docker
            .create_exec(
                container,
                CreateExecOptions {
                    attach_stdin: Some(stdin.is_some()),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    cmd: Some(cmd.to_vec()),
                    user: Some(user),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| self.fail(&what, &e))?;
        let started = self
            .docker
            .start_exec(&exec.id, None)
            .await
            .map_err(|e| self.fail(&what, &e))?;
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = started
        else {
            return Err(Error::engine(
                format!("Docker did not attach to the command run in {container}"),
                "check the Docker Engine (`docker info`)",
            ));
        };
        let fed = std::sync::atomic::AtomicU64::new(0);
        let feed = async {
            if let Some(mut reader) = stdin {
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    let n = reader.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    input.write_all(&buf[..n]).await?;
                    let total =
                        fed.fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed) + n as u64;
                    on_bytes(total);
                }
                input.flush().await?;
            }
            let _ = input.shutdown().await;
            Ok::<_, std::io::Error>(())
        };
        let drain = async {
            let mut stderr = String::new();
            let mut written = 0u64;
            while let Some(chunk) = output.next().await {
                match chunk {
                    Ok(LogOutput::StdOut { message }) => {
                        stdout.write_all(&message).await?;
                        written += message.len() as u64;
                        on_bytes(written);
                    }
                    Ok(other) => {
                        stderr.push_str(&other.to_string());
                        // Only the end matters for a message.
                        if stderr.len() > 16 * 1024 {
                            let cut = stderr.len() - 8 * 1024;
                            let cut = (cut..stderr.len())
                                .find(|i| stderr.is_char_boundary(*i))
                                .unwrap_or(0);
                            stderr.drain(..cut);
                        }
                    }
                    Err(e) => return Err(std::io::Error::other(describe(&e))),
                }
            }
            stdout.flush().await?;
            Ok::<_, std::io::Error>(stderr)
        };
        // Both at once; once the command's output ends (it has exited, e.g. `pg_restore --list`
        // after the table of contents), feeding it stops: the rest would go nowhere.
        tokio::pin!(feed, drain);
        let mut fed = None;
        let drained = loop {
            tokio::select! {
                result = &mut feed, if fed.is_none() => fed = Some(result),
                drained = &mut drain => break drained,
            }
        };
        let stderr = drained.map_err(|e| {
            Error::engine(
                format!("Docker could not {what}: {e}"),
                "check the Docker Engine (`docker info`) and the free disk space",
            )
        })?;
        if let Some(Err(e)) = fed {
            // The command may have ended early (an error in its input): its own words say why.
            tracing::debug!("feeding {what}: {e}");
        }
        let info = self
            .docker
            .inspect_exec(&exec.id)
            .await
            .map_err(|e| self.fail(&what, &e))?;
        Ok((info.exit_code.unwrap_or(-1), stderr))
    }

    /// Starts a throw-away container of `image` that only sleeps, with no network, removed by
    /// Docker when stopped: a place to run an image's tools (`pg_restore --list`) on a machine
    /// whose stack is not running.
    pub async fn start_helper(&self, name: &str, image: &str) -> Result<()> {
        use bollard::models::{ContainerCreateBody, HostConfig};
        let body = ContainerCreateBody {
            image: Some(image.to_string()),
            entrypoint: Some(vec!["sleep".into()]),
            cmd: Some(vec!["3600".into()]),
            labels: Some(HashMap::from([(
                "io.kestractl.helper".to_string(),
                "true".to_string(),
            )])),
            network_disabled: Some(true),
            host_config: Some(HostConfig {
                auto_remove: Some(true),
                network_mode: Some("none".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(name).build();
        self.docker
            .create_container(Some(options), body)
            .await
            .map_err(|e| self.fail(&format!("create helper container {name}"), &e))?;
        self.start(name).await
    }

    /// Containers (any state) that publish `port` on the host.
    pub async fn containers_publishing(&self, port: u16) -> Result<Vec<ContainerSummary>> {
        let filters = HashMap::from([("publish", vec![port.to_string()])]);
        let options = ListContainersOptionsBuilder::default()
            .all(false)
            .filters(&filters)
            .build();
        self.docker
            .list_containers(Some(options))
            .await
            .map_err(|e| self.fail("list containers", &e))
    }

    /// The last `tail` log lines of a container as text (for failure reports).
    pub async fn last_logs(&self, name: &str, tail: usize) -> Vec<String> {
        let options = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .tail(&tail.to_string())
            .build();
        let mut lines = Vec::new();
        let mut stream = self.docker.logs(name, Some(options));
        while let Some(Ok(chunk)) = stream.next().await {
            let text = chunk.to_string();
            lines.extend(text.lines().map(str::to_string));
        }
        let skip = lines.len().saturating_sub(tail);
        lines.split_off(skip)
    }

    /// A log stream (`follow` keeps it open until the container stops).
    pub fn logs(
        &self,
        name: &str,
        follow: bool,
        tail: Option<usize>,
        since: Option<i64>,
    ) -> impl Stream<Item = Result<LogOutput, BollardError>> + use<> {
        let mut b = LogsOptionsBuilder::default()
            .stdout(true)
            .stderr(true)
            .follow(follow)
            .timestamps(true)
            .tail(&tail.map_or_else(|| "all".to_string(), |t| t.to_string()));
        if let Some(s) = since {
            b = b.since(i32::try_from(s).unwrap_or(i32::MAX));
        }
        self.docker.logs(name, Some(b.build()))
    }

    /// One stats sample: (CPU %, memory used bytes, memory limit bytes).
    pub async fn stats_once(&self, name: &str) -> Option<(f64, u64, u64)> {
        let options = StatsOptionsBuilder::default()
            .stream(false)
            .one_shot(false)
            .build();
        let mut stream = self.docker.stats(name, Some(options));
        let s = stream.next().await?.ok()?;
        let cpu = s.cpu_stats.as_ref()?;
        let pre = s.precpu_stats.as_ref()?;
        let total = cpu.cpu_usage.as_ref()?.total_usage? as f64;
        let pre_total = pre
            .cpu_usage
            .as_ref()
            .and_then(|u| u.total_usage)
            .unwrap_or(0) as f64;
        let system = cpu.system_cpu_usage.unwrap_or(0) as f64;
        let pre_system = pre.system_cpu_usage.unwrap_or(0) as f64;
        let cpus = cpu.online_cpus.unwrap_or(1).max(1) as f64;
        let cpu_pct = if system > pre_system && total >= pre_total {
            (total - pre_total) / (system - pre_system) * cpus * 100.0
        } else {
            0.0
        };
        let mem = s.memory_stats.as_ref()?;
        Some((cpu_pct, mem.usage.unwrap_or(0), mem.limit.unwrap_or(0)))
    }
}

fn status_of(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// The most useful text of a bollard error: the engine's own message, or the innermost cause.
fn describe(e: &BollardError) -> String {
    if let BollardError::DockerResponseServerError { message, .. } = e {
        return message.clone();
    }
    let mut last = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    last
}

fn engine_hint(host: &str, reason: &str) -> String {
    let r = reason.to_ascii_lowercase();
    if r.contains("permission denied") {
        format!(
            "your user may not use {host}: run as a member of the `docker` group (or root), \
             or point DOCKER_HOST at an engine you may use"
        )
    } else if r.contains("no such file")
        || r.contains("connection refused")
        || r.contains("not found")
    {
        format!(
            "is the Docker Engine running? Start it (`sudo systemctl start docker` or `dockerd`), \
             or set DOCKER_HOST to the engine's address (now {host})"
        )
    } else {
        format!("check that the Docker Engine at {host} is running and reachable (`docker info`)")
    }
}

/// `kestra/kestra:v2.0.5` → (`kestra/kestra`, `v2.0.5`); no tag means `latest`. A registry port
/// (`host:5000/img`) is not a tag; a digest stays with the name.
pub fn split_image(image: &str) -> (&str, &str) {
    if image.contains('@') {
        return (image, "");
    }
    let last_slash = image.rfind('/').map_or(0, |i| i + 1);
    match image[last_slash..].rfind(':') {
        Some(i) => (&image[..last_slash + i], &image[last_slash + i + 1..]),
        None => (image, "latest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references() {
        assert_eq!(
            split_image("kestra/kestra:v2.0.5"),
            ("kestra/kestra", "v2.0.5")
        );
        assert_eq!(split_image("postgres"), ("postgres", "latest"));
        assert_eq!(
            split_image("reg:5000/team/img"),
            ("reg:5000/team/img", "latest")
        );
        assert_eq!(
            split_image("reg:5000/team/img:1"),
            ("reg:5000/team/img", "1")
        );
        assert_eq!(split_image("img@sha256:abc"), ("img@sha256:abc", ""));
    }

    #[test]
    fn hints_follow_the_failure() {
        assert!(
            engine_hint(
                "unix:///var/run/docker.sock",
                "Permission denied (os error 13)"
            )
            .contains("docker` group")
        );
        assert!(
            engine_hint("unix:///x.sock", "No such file or directory (os error 2)")
                .contains("systemctl start docker")
        );
        assert!(engine_hint("tcp://h:2375", "timed out").contains("docker info"));
    }
}
