//! Port preflight: is a host port free, and if not, who holds it (a container, or a process found
//! through /proc), so the error can name it.

use std::net::{IpAddr, SocketAddr, TcpListener};

/// Whether `ip:port` can be bound right now. Binding is the only reliable test: it also catches
/// a listener on 0.0.0.0 when we want 127.0.0.1.
pub fn is_free(ip: IpAddr, port: u16) -> bool {
    TcpListener::bind(SocketAddr::new(ip, port)).is_ok()
}

/// A port free on `ip` right now, as the system hands them out (for advice: it may be taken by
/// the time the operator uses it, and `start` checks again then).
pub fn free_port(ip: IpAddr) -> Option<u16> {
    TcpListener::bind(SocketAddr::new(ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .ok()
}

/// Finds the process listening on `port` (any address) through /proc: the socket inode from
/// /proc/net/tcp{,6}, then the process whose file descriptors point at it. Needs permission to
/// read other processes' fds (root, or the same user); `None` when it cannot tell.
pub fn process_listening(port: u16) -> Option<String> {
    let inodes = listening_inodes(port);
    if inodes.is_empty() {
        return None;
    }
    let procs = std::fs::read_dir("/proc").ok()?;
    for entry in procs.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let target = target.to_string_lossy();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|s| s.strip_suffix(']'))
                && inodes.iter().any(|i| i == inode)
            {
                let comm = std::fs::read_to_string(entry.path().join("comm"))
                    .map(|c| c.trim().to_string())
                    .unwrap_or_else(|_| "?".into());
                return Some(format!("process `{comm}` (pid {pid})"));
            }
        }
    }
    None
}

/// Inodes of sockets in LISTEN state (st = 0A) on `port`, IPv4 and IPv6.
fn listening_inodes(port: u16) -> Vec<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            inodes.extend(parse_listening(&text, port));
        }
    }
    inodes
}

fn parse_listening(table: &str, port: u16) -> Vec<String> {
    let want = format!("{port:04X}");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let local = cols.get(1)?;
            let state = cols.get(3)?;
            let inode = cols.get(9)?;
            let local_port = local.rsplit(':').next()?;
            (local_port.eq_ignore_ascii_case(&want) && *state == "0A").then(|| inode.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_tcp() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0\n   1: 0100007F:1F90 0100007F:C000 01 00000000:00000000 00:00000000 00000000     0        0 999 1\n";
        assert_eq!(parse_listening(table, 8080), vec!["12345".to_string()]);
        assert!(parse_listening(table, 8081).is_empty());
    }

    #[test]
    fn finds_our_own_listener() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(!is_free("127.0.0.1".parse().unwrap(), port));
        let who = process_listening(port).expect("this process holds it");
        assert!(
            who.contains(&format!("pid {}", std::process::id())),
            "{who}"
        );
        drop(l);
        assert!(is_free("127.0.0.1".parse().unwrap(), port));
    }
}
