//! What kestractl's integration tests and benchmarks share besides the emulator itself: free
//! ports, the median of a sample, and the Docker resources of one isolated local stack.

use std::process::Command;

/// A loopback port with nothing listening (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// The middle value of a sample (the upper one of an even count); `None` when it is empty.
pub fn median<T: PartialOrd + Copy>(mut sample: Vec<T>) -> Option<T> {
    sample.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    sample.get(sample.len() / 2).copied()
}

/// The Docker names of one kestractl stack called `name` (kestractl derives the Postgres
/// container and network from `KESTRA_CONTAINER_NAME` this way; tests and benchmarks give the
/// volume with `KESTRA_DB_VOLUME`), and their removal.
#[derive(Debug, Clone)]
pub struct StackNames {
    pub kestra: String,
    pub postgres: String,
    pub network: String,
    pub volume: String,
}

impl StackNames {
    pub fn new(name: &str) -> Self {
        StackNames {
            kestra: name.to_string(),
            postgres: format!("{name}-postgres"),
            network: format!("{name}-net"),
            volume: format!("{name}-pgdata"),
        }
    }

    /// Removes the containers, network and volume, whichever exist (best effort: a test's or a
    /// benchmark's cleanup must not fail on what is already gone).
    pub fn remove(&self) {
        let docker = |args: &[&str]| {
            let _ = Command::new("docker").args(args).output();
        };
        docker(&["rm", "-f", "-v", &self.kestra, &self.postgres]);
        docker(&["network", "rm", &self.network]);
        docker(&["volume", "rm", "-f", &self.volume]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_samples() {
        assert_eq!(median(vec![3, 1, 2]), Some(2));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(3.0));
        assert_eq!(median(Vec::<u8>::new()), None);
    }

    #[test]
    fn names_follow_kestractl() {
        let n = StackNames::new("kctl-x");
        assert_eq!(
            [n.kestra, n.postgres, n.network, n.volume],
            ["kctl-x", "kctl-x-postgres", "kctl-x-net", "kctl-x-pgdata"]
        );
    }
}
