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

#[derive(Debug, Default)]
pub struct Parser {
    buffer: Vec<u8>,
    current: Event,
    has_data: bool,
}

impl Parser {
    /// Feeds a chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.buffer.extend_from_slice(chunk);
        let mut events = Vec::new();
        while let Some(pos) = self.buffer.iter().position(|b| *b == b'\n') {
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
        events
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
            let mut events = p.push(&stream.as_bytes()[..split]);
            events.extend(p.push(&stream.as_bytes()[split..]));
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
        let mut events = p.push(&bytes[..8]);
        events.extend(p.push(&bytes[8..]));
        assert_eq!(events[0].data, "héllo");
    }
}
