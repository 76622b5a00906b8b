//! The server-sent events parser on arbitrary bytes, fed in pieces.
//!
//! Invariants: nothing panics; the events do not depend on how the stream is cut into chunks
//! (whole, split at one arbitrary point, or cut into many small chunks of arbitrary sizes — even
//! inside a UTF-8 sequence or between `\r` and `\n`).

use kestractl::fuzzing::{Event, Parser, TooLarge};

/// The events of the whole stream, or `TooLarge` if the stream outgrew the parser's cap (which
/// must not depend on chunking either).
fn feed<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<Event>, TooLarge> {
    let mut parser = Parser::default();
    let mut events = Vec::new();
    for chunk in chunks {
        events.extend(parser.push(chunk)?);
    }
    Ok(events)
}

/// Runs every check on one input; panics on a broken invariant.
pub fn check(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let (control, stream) = data.split_at(2);
    let whole = feed([stream]);

    let at = usize::from(u16::from_le_bytes([control[0], control[1]])) % (stream.len() + 1);
    let (a, b) = stream.split_at(at);
    assert_eq!(feed([a, b]), whole, "split at {at}");

    // Chunks of 1..=8 bytes, sizes drawn from the stream's own bytes.
    let mut chunks = Vec::new();
    let mut rest = stream;
    let mut i = 0;
    while !rest.is_empty() {
        let size = (usize::from(stream[i % stream.len()] ^ control[0]) % 8 + 1).min(rest.len());
        let (chunk, tail) = rest.split_at(size);
        chunks.push(chunk);
        rest = tail;
        i += 1;
    }
    assert_eq!(feed(chunks.iter().copied()), whole, "small chunks");

    for e in whole.iter().flatten() {
        assert!(e.id.as_deref().is_none_or(|id| !id.contains('\n')));
        assert!(e.event.as_deref().is_none_or(|ev| !ev.contains('\n')));
    }
}
