//! A tiny HTTP server with canned answers, standing for a Kestra that answers what a test
//! needs: wrong shapes, hostile names, endless bodies. Each connection is served on its own
//! thread (an endless answer does not hold up the next request); every request line is logged
//! with whether it carried credentials.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One canned answer.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Written again and again after `body`, without a length, until the client goes away.
    pub endless: Option<Vec<u8>>,
    /// With `endless`: stop after this many repetitions, announced in `Content-Length`.
    pub repeat: Option<u64>,
}

impl Reply {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        let mut headers = Vec::new();
        if !content_type.is_empty() {
            headers.push(("Content-Type".to_string(), content_type.to_string()));
        }
        Reply {
            status,
            headers,
            body: body.into(),
            endless: None,
            repeat: None,
        }
    }

    pub fn json(status: u16, body: &str) -> Self {
        Reply::new(status, "application/json", body)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// `chunk` repeated `times` times, with its length announced: a large answer that the test
    /// process does not hold.
    pub fn repeated(status: u16, content_type: &str, chunk: &[u8], times: u64) -> Self {
        let mut r = Reply::new(status, content_type, Vec::new());
        r.endless = Some(chunk.to_vec());
        r.repeat = Some(times);
        r
    }

    /// `body`, then `chunk` repeated forever.
    pub fn endless(status: u16, content_type: &str, body: &str, chunk: &str) -> Self {
        let mut r = Reply::new(status, content_type, body);
        r.endless = Some(chunk.as_bytes().to_vec());
        r
    }
}

/// 1.3's `/api/v1/configs`.
pub const CONFIGS_1_3: &str = r#"{"version":"1.3.25","edition":"OSS","commitId":"abc1234","url":"http://localhost:8080","isBasicAuthInitialized":true}"#;

/// 2.0's `/api/v1/configs`.
pub const CONFIGS_2_0: &str = r#"{"version":"2.0.5","edition":"OSS","commitId":"abc1234","url":"http://localhost:8080","isBasicAuthInitialized":true}"#;

/// A fake Kestra: answers each request with `route(method, path)`, and logs every request line
/// (`METHOD /path?query`) and whether it carried an Authorization header.
pub struct FakeServer {
    pub url: String,
    pub log: Arc<Mutex<Vec<(String, bool)>>>,
}

impl FakeServer {
    pub fn start(route: impl Fn(&str, &str) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = log.clone();
        let route = Arc::new(route);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (seen, route) = (seen.clone(), route.clone());
                std::thread::spawn(move || serve(stream, &seen, &*route));
            }
        });
        FakeServer { url, log }
    }

    pub fn requests(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(l, _)| l.clone())
            .collect()
    }
}

fn serve(
    mut stream: TcpStream,
    seen: &Mutex<Vec<(String, bool)>>,
    route: &(dyn Fn(&str, &str) -> Reply + Send + Sync),
) {
    let Some((line, authorized)) = read_request(&mut stream) else {
        return;
    };
    seen.lock().unwrap().push((line.clone(), authorized));
    let mut parts = line.split(' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default();
    let reply = route(method, path);
    let mut head = format!("HTTP/1.1 {} Canned\r\nConnection: close\r\n", reply.status);
    match (&reply.endless, reply.repeat) {
        (None, _) => head.push_str(&format!("Content-Length: {}\r\n", reply.body.len())),
        (Some(chunk), Some(times)) => head.push_str(&format!(
            "Content-Length: {}\r\n",
            reply.body.len() as u64 + chunk.len() as u64 * times
        )),
        (Some(_), None) => {}
    }
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply.body);
    if let Some(chunk) = &reply.endless {
        // Until the client hangs up (a write fails), or as many times as announced.
        let mut left = reply.repeat.unwrap_or(u64::MAX);
        while left > 0 && stream.write_all(chunk).is_ok() {
            left -= 1;
        }
    }
    let _ = stream.flush();
}

/// Reads one request (head and body); returns its request line and whether it had credentials.
pub fn read_request(stream: &mut TcpStream) -> Option<(String, bool)> {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let authorized = head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("authorization:"));
    Some((head.lines().next()?.to_string(), authorized))
}
