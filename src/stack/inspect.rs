//! What an inspected container tells about the stack: whether kestractl made it (its label) and
//! the ports it publishes.

use bollard::models::ContainerInspectResponse;

use super::spec::LABEL_MANAGED;

/// Whether kestractl created this container (it carries our label).
pub fn is_managed(c: &ContainerInspectResponse) -> bool {
    c.config
        .as_ref()
        .and_then(|cfg| cfg.labels.as_ref())
        .and_then(|l| l.get(LABEL_MANAGED))
        .is_some_and(|v| v == "true")
}

/// Host ports a running container publishes (so our own Kestra does not "hold" its own port).
pub fn published_host_ports(c: &ContainerInspectResponse) -> Vec<u16> {
    let running = c.state.as_ref().and_then(|s| s.running).unwrap_or(false);
    if !running {
        return Vec::new();
    }
    c.network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .map(|ports| {
            ports
                .values()
                .flatten()
                .flatten()
                .filter_map(|b| b.host_port.as_deref()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// `0.0.0.0:8080->8080/tcp` style descriptions of a container's published ports.
pub fn port_descriptions(c: &ContainerInspectResponse) -> Vec<String> {
    let mut out: Vec<String> = c
        .network_settings
        .as_ref()
        .and_then(|n| n.ports.as_ref())
        .map(|ports| {
            ports
                .iter()
                .flat_map(|(container_port, bindings)| {
                    bindings.iter().flatten().map(move |b| {
                        format!(
                            "{}:{}->{container_port}",
                            b.host_ip.as_deref().unwrap_or(""),
                            b.host_port.as_deref().unwrap_or("")
                        )
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
