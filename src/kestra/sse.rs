//! Server-sent events, as Kestra's follow routes stream them: `id:` (`progress`, or `end` on the
//! last execution event), `event:`, `data:` (JSON), blank line between events. Fed raw chunks,
//! which may split lines and even UTF-8 sequences anywhere.

/// The id of the event Kestra opens both follow streams with: an execution with only its id, or
/// an empty log entry. It carries nothing to show.
pub const START: &str = "start";
/// The id of the last execution event.
pub const END: &str = "end";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Event {
    pub id: Option<String>,
    pub event: Option<String>,
    pub data: String,
}

/// The largest event (or line) read from a stream: an execution with thousands of task runs is
/// a few MiB; a server streaming one endless line is cut off here.
pub const MAX_EVENT: usize = 16 << 20;

/// A stream sent more than [`MAX_EVENT`] without ending an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server streamed an event larger than {} MiB; kestractl stopped reading it",
            MAX_EVENT >> 20
        )
    }
}

#[derive(Debug, Default)]
pub struct Parser {
    buffer: Vec<u8>,
    /// How much of `buffer` is known to hold no line feed (a long line is not scanned again
    /// for every chunk).
    scanned: usize,
    current: Event,
    has_data: bool,
}

impl Parser {
    /// Feeds a chunk; returns the events it completed, or [`TooLarge`] once a line or an event
    /// outgrows [`MAX_EVENT`] (memory stays bounded whatever the server sends).
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Event>, TooLarge> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(pos) = self.buffer[self.scanned..]
            .iter()
            .position(|b| *b == b'\n')
            .map(|p| p + self.scanned)
        {
            self.scanned = 0;
            let line: Vec<u8> = self.buffer.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if self.has_data || self.current.id.is_some() {
                    events.push(std::mem::take(&mut self.current));
                }
                self.has_data = false;
                continue;
            }
            if line.starts_with(':') {
                continue; // comment / keep-alive
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line, ""),
            };
            match field {
                "data" => {
                    if self.has_data {
                        self.current.data.push('\n');
                    }
                    self.current.data.push_str(value);
                    self.has_data = true;
                }
                "id" => self.current.id = Some(value.to_string()),
                "event" => self.current.event = Some(value.to_string()),
                _ => {}
            }
        }
        self.scanned = self.buffer.len();
        if self.buffer.len() > MAX_EVENT || self.current.data.len() > MAX_EVENT {
            return Err(TooLarge);
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_events_split_anywhere() {
        let stream = "id: progress\ndata: {\"a\":1}\n\n: keep-alive\n\nid:end\r\ndata: {\"b\":\r\ndata: 2}\r\n\r\n";
        for split in 1..stream.len() {
            let mut p = Parser::default();
            let mut events = p.push(&stream.as_bytes()[..split]).unwrap();
            events.extend(p.push(&stream.as_bytes()[split..]).unwrap());
            assert_eq!(events.len(), 2, "split at {split}: {events:?}");
            assert_eq!(events[0].id.as_deref(), Some("progress"));
            assert_eq!(events[0].data, "{\"a\":1}");
            assert_eq!(events[1].id.as_deref(), Some("end"));
            assert_eq!(events[1].data, "{\"b\":\n2}");
        }
    }

    #[test]
    fn utf8_split_across_chunks() {
        let bytes = "data: héllo\n\n".as_bytes();
        let mut p = Parser::default();
        let mut events = p.push(&bytes[..8]).unwrap();
        events.extend(p.push(&bytes[8..]).unwrap());
        assert_eq!(events[0].data, "héllo");
    }

    #[test]
    fn an_endless_line_or_event_is_cut_off() {
        let mut p = Parser::default();
        let chunk = vec![b'a'; 1 << 20];
        assert_eq!(p.push(b"data: ").unwrap(), Vec::new());
        let mut result = Ok(Vec::new());
        for _ in 0..20 {
            result = p.push(&chunk);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(TooLarge));
        // Many short data lines that never end the event.
        let mut p = Parser::default();
        let line = format!("data: {}\n", "b".repeat(1 << 20));
        let mut result = Ok(Vec::new());
        for _ in 0..20 {
            result = p.push(line.as_bytes());
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(TooLarge));
    }
}
