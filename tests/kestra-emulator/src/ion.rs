//! What Kestra's Ion mapper makes of a KV value sent as `text/plain`.
//!
//! `KVController.setKeyValue` (1.3.25 `webserver/…/controllers/api/KVController.java` l.129-147)
//! reads the body with `JacksonMapper.ofIon().readTree(value)` ("use ION mapper to properly handle
//! timestamp") and keeps the raw body as a `String` when that fails. Kestra's `IonParser`
//! (`core/…/serializers/ion/IonParser.java` l.20-70, the same in the 2.0 tree read) turns an
//! unannotated timestamp into a `LocalDate` when its offset is unknown or zero and it is exactly
//! midnight UTC to the millisecond, an `Instant` otherwise, and a `ZonedDateTime` when the offset
//! is not zero; an annotated string (`Instant::"…"`, `LocalDate::"…"`…) into that `java.time`
//! class. `InternalKVStore.put` writes the result back as Ion (`IonGenerator`: a `LocalDate` at
//! day precision, an `Instant` at millisecond precision in UTC, other `java.time` values as
//! annotated strings), and `getValue` re-reads it: the type `GET …/kv/{key}` reports
//! (`KVType.from`, `core/…/models/kv/KVType.java` l.17-31) is the class of the value after that
//! round trip.
//!
//! This module is a reader of Ion text (amazon's `IonTextReader` as Jackson drives it through
//! `readTree`: the first top-level value only, trailing text never read) and the round trip,
//! giving what the GET answers: `type` and `value`. Only the duration reading, which Kestra also
//! does on GET (`InternalKVStore.DURATION_PATTERN`), is left to the caller: see
//! [`duration_of`].

use serde_json::{Map, Number, Value};
use time::{Date, Month, PrimitiveDateTime, Time};

use crate::timefmt::fmt_instant;

const DAY_MS: i64 = 86_400_000;

/// A value as Jackson's tree holds it after Kestra's `IonParser`, by the Java class it is.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// `NullNode` (also Ion's typed nulls, `null.int`…).
    Null,
    Bool(bool),
    /// `IntNode`/`LongNode`/`BigIntegerNode`: the digits, sign included.
    Int(String),
    /// `DecimalNode` (`BigDecimal`): the value, and whether it has a fraction or exponent part
    /// (`1.` is a decimal of scale 0, written `1`).
    Decimal(f64, bool),
    /// `DoubleNode`.
    Float(f64),
    /// `TextNode`: an Ion string or symbol.
    Text(String),
    /// `byte[]` (an Ion blob or clob).
    Bytes(Vec<u8>),
    /// `Instant`, in epoch milliseconds (`Timestamp.calendarValue()` keeps milliseconds).
    Instant(i64),
    LocalDate(Date),
    /// `ZonedDateTime` at a fixed, non-zero offset: epoch milliseconds and the offset in minutes.
    Zoned(i64, i32),
    /// `LocalDateTime` (only from a `LocalDateTime::` annotation).
    LocalDateTime(PrimitiveDateTime),
    /// `OffsetDateTime`, `OffsetTime`, `LocalTime`: kept as their ISO text.
    OtherTime(String),
    List(Vec<Read>),
    Struct(Vec<(String, Read)>),
}

/// Reads the first top-level value of `text` as Kestra's Ion mapper does; `None` when Ion cannot
/// read it (Kestra then keeps the body as a `String`).
pub fn read(text: &str) -> Option<Read> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    loop {
        p.skip_ws()?;
        if p.at_end() {
            // Nothing to read: not modelled (see `kv_value`), the body is kept as text.
            return None;
        }
        let start = p.i;
        let v = p.value(Context::TopLevel)?;
        // The Ion version marker is a system value, skipped by the reader.
        if v == Read::Text("$ion_1_0".into()) && p.s[start] == b'$' {
            continue;
        }
        return Some(v);
    }
}

/// What `GET …/kv/{key}` answers for a value put as `text`: its `type` and `value`, before the
/// GET-time duration reading ([`duration_of`]).
pub fn kv_value(text: &str) -> (&'static str, Value) {
    match read(text) {
        Some(v) => stored(&v),
        // `KVController.setKeyValue`: a body Ion cannot read is stored as the string it is.
        None => ("STRING", Value::String(text.to_string())),
    }
}

/// `KVType.from` of the value re-read after the Ion round trip, and that value as Kestra's
/// JSON mapper writes it (`writeDatesAsTimestamps: false`).
fn stored(v: &Read) -> (&'static str, Value) {
    let kind = match v {
        Read::Null | Read::Text(_) => "STRING",
        Read::Bool(_) => "BOOLEAN",
        Read::Int(_) | Read::Decimal(..) | Read::Float(_) => "NUMBER",
        // An Instant written at millisecond precision in UTC and re-read: midnight is a date.
        Read::Instant(ms) if ms.rem_euclid(DAY_MS) == 0 => "DATE",
        Read::Instant(_) | Read::LocalDateTime(_) => "DATETIME",
        Read::LocalDate(_) => "DATE",
        Read::Zoned(..) | Read::OtherTime(_) | Read::Bytes(_) | Read::List(_) | Read::Struct(_) => {
            "JSON"
        }
    };
    (kind, json(v))
}

/// A value as Jackson writes it to JSON after the round trip.
fn json(v: &Read) -> Value {
    match v {
        Read::Null => Value::Null,
        Read::Bool(b) => Value::Bool(*b),
        Read::Int(digits) => digits
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| digits.parse::<u64>().map(Value::from))
            .unwrap_or_else(|_| float(digits.parse::<f64>().unwrap_or(f64::NAN))),
        // `BigDecimal` of scale 0 is written without a fraction; the trailing zeros of a longer
        // fraction (`1.50`) are not kept here (a JSON number of the same value).
        Read::Decimal(x, false) if x.fract() == 0.0 && x.abs() < 9.0e15 =>
        {
            #[allow(clippy::cast_possible_truncation)]
            Value::from(*x as i64)
        }
        Read::Decimal(x, _) | Read::Float(x) => float(*x),
        Read::Text(t) | Read::OtherTime(t) => Value::String(t.clone()),
        Read::Bytes(b) => {
            use base64::Engine;
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Read::Instant(ms) if ms.rem_euclid(DAY_MS) == 0 => Value::String(fmt_date(utc_date(*ms))),
        Read::Instant(ms) => Value::String(fmt_instant(*ms)),
        Read::LocalDate(d) => Value::String(fmt_date(*d)),
        Read::Zoned(ms, offset) => Value::String(fmt_zoned(*ms, *offset)),
        Read::LocalDateTime(dt) => Value::String(fmt_local(*dt)),
        Read::List(items) => Value::Array(items.iter().map(json).collect()),
        Read::Struct(fields) => {
            let mut m = Map::new();
            for (k, v) in fields {
                m.insert(k.clone(), json(v));
            }
            Value::Object(m)
        }
    }
}

/// Jackson writes a non-finite double as a string (`JsonWriteFeature.WRITE_NAN_AS_STRINGS`).
fn float(x: f64) -> Value {
    match Number::from_f64(x) {
        Some(n) => Value::Number(n),
        None if x.is_nan() => Value::String("NaN".into()),
        None if x > 0.0 => Value::String("Infinity".into()),
        None => Value::String("-Infinity".into()),
    }
}

fn utc_date(ms: i64) -> Date {
    let days = ms.div_euclid(DAY_MS);
    let epoch = Date::from_calendar_date(1970, Month::January, 1).unwrap_or(Date::MIN);
    epoch
        .checked_add(time::Duration::days(days))
        .unwrap_or(epoch)
}

fn fmt_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// `DateTimeFormatter.ISO_LOCAL_DATE_TIME`: seconds always, the fraction without its trailing
/// zeros (none when zero).
fn fmt_local(dt: PrimitiveDateTime) -> String {
    let mut out = format!(
        "{}T{:02}:{:02}:{:02}",
        fmt_date(dt.date()),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let nanos = dt.nanosecond();
    if nanos != 0 {
        let f = format!("{nanos:09}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    out
}

/// `ISO_OFFSET_DATE_TIME` of `instant.atOffset(offset)`, as Jackson writes a `ZonedDateTime`.
fn fmt_zoned(ms: i64, offset_minutes: i32) -> String {
    let local_ms = ms + i64::from(offset_minutes) * 60_000;
    let date = utc_date(local_ms);
    let in_day = local_ms.rem_euclid(DAY_MS);
    let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, millis) = (rest / 1000, rest % 1000);
    let mut out = format!("{}T{h:02}:{m:02}:{s:02}", fmt_date(date));
    if millis != 0 {
        let f = format!("{millis:03}");
        out.push('.');
        out.push_str(f.trim_end_matches('0'));
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let abs = offset_minutes.unsigned_abs();
    out.push_str(&format!("{sign}{:02}:{:02}", abs / 60, abs % 60));
    out
}

/// `InternalKVStore.getValue` (1.3.25 `core/…/storages/kv/InternalKVStore.java` l.39, l.138-147):
/// a stored string matching `DURATION_PATTERN`
/// (`^P(?=[^T]|T.)(?:\d*D)?(?:T(?=.)(?:\d*H)?(?:\d*M)?(?:\d*S)?)?$`) is read back as a `Duration`
/// by `Duration.parse`, which Jackson writes as `Duration.toString()` (`P1D` is `PT24H`).
/// `None`: not of the pattern (a STRING). `Some(Err)`: of the pattern but refused by
/// `Duration.parse` (a unit without digits, an overflow), an exception the GET answers 500.
pub fn duration_of(s: &str) -> Option<Result<String, String>> {
    let body = s.strip_prefix('P')?;
    // (?=[^T]|T.): something follows P, and a T right after P is not the last character.
    match body.as_bytes() {
        [] | [b'T'] => return None,
        _ => {}
    }
    let (date, time) = match body.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (body, None),
    };
    // (?:\d*D)?
    let days = match date {
        "" => None,
        d => Some(d.strip_suffix('D').filter(|n| all_digits(n))?),
    };
    let mut units: [Option<&str>; 3] = [None, None, None];
    if let Some(mut t) = time {
        // T(?=.): something follows T.
        if t.is_empty() {
            return None;
        }
        for (slot, unit) in units.iter_mut().zip(['H', 'M', 'S']) {
            if let Some(pos) = t.find(unit) {
                let (n, rest) = t.split_at(pos);
                if !all_digits(n) {
                    return None;
                }
                *slot = Some(n);
                t = &rest[1..];
            }
        }
        if !t.is_empty() {
            return None;
        }
    }
    let refuse = || Err(format!("Text cannot be parsed to a Duration: {s}"));
    let mut seconds: i64 = 0;
    for (digits, factor) in [
        (days, 86_400),
        (units[0], 3600),
        (units[1], 60),
        (units[2], 1),
    ] {
        let Some(d) = digits else { continue };
        let Ok(n) = d.parse::<i64>() else {
            return Some(refuse());
        };
        match n.checked_mul(factor).and_then(|x| x.checked_add(seconds)) {
            Some(total) => seconds = total,
            None => return Some(refuse()),
        }
    }
    if seconds == 0 {
        return Some(Ok("PT0S".into()));
    }
    let (h, m, sec) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    let mut out = String::from("PT");
    if h != 0 {
        out.push_str(&format!("{h}H"));
    }
    if m != 0 {
        out.push_str(&format!("{m}M"));
    }
    if sec != 0 {
        out.push_str(&format!("{sec}S"));
    }
    Some(Ok(out))
}

/// `\d*`: digits or nothing.
fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    TopLevel,
    Container,
    Sexp,
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// Ion's numeric stop characters: what may follow a number or a timestamp.
fn is_stop(b: Option<u8>) -> bool {
    match b {
        None => true,
        Some(c) => {
            matches!(
                c,
                b' ' | b'\t'
                    | b'\n'
                    | b'\r'
                    | 0x0B
                    | 0x0C
                    | b'{'
                    | b'}'
                    | b'['
                    | b']'
                    | b'('
                    | b')'
                    | b','
                    | b'"'
                    | b'\''
            ) || c == b'/'
        }
    }
}

const OPERATOR: &[u8] = b"!#%&*+-./;<=>?@^`|~";

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.s.get(self.i + n).copied()
    }

    fn starts_with(&self, t: &[u8]) -> bool {
        self.s[self.i..].starts_with(t)
    }

    /// Whitespace and comments; `None` for an unterminated block comment.
    fn skip_ws(&mut self) -> Option<()> {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C) => self.i += 1,
                Some(b'/') if self.peek_at(1) == Some(b'/') => {
                    while let Some(c) = self.peek() {
                        self.i += 1;
                        if c == b'\n' {
                            break;
                        }
                    }
                }
                Some(b'/') if self.peek_at(1) == Some(b'*') => {
                    self.i += 2;
                    loop {
                        if self.at_end() {
                            return None;
                        }
                        if self.starts_with(b"*/") {
                            self.i += 2;
                            break;
                        }
                        self.i += 1;
                    }
                }
                _ => return Some(()),
            }
        }
    }

    /// A value, with its annotations.
    fn value(&mut self, ctx: Context) -> Option<Read> {
        let mut annotations = Vec::new();
        loop {
            self.skip_ws()?;
            let save = self.i;
            let symbol = match self.peek() {
                Some(b'\'') if !self.starts_with(b"'''") => Some(self.quoted(b'\'')?),
                Some(c) if is_ident_start(c) => Some(self.identifier()),
                _ => None,
            };
            let Some(symbol) = symbol else { break };
            self.skip_ws()?;
            if self.starts_with(b"::") {
                self.i += 2;
                annotations.push(symbol);
                continue;
            }
            self.i = save;
            break;
        }
        let v = self.bare(ctx)?;
        match annotations.first() {
            None => Some(v),
            Some(a) => annotated(a, v),
        }
    }

    /// A value without annotations.
    fn bare(&mut self, ctx: Context) -> Option<Read> {
        match self.peek()? {
            b'{' if self.peek_at(1) == Some(b'{') => self.lob(),
            b'{' => self.structure(),
            b'[' => self.list(),
            b'(' => self.sexp(),
            b'"' => Some(Read::Text(self.quoted(b'"')?)),
            b'\'' if self.starts_with(b"'''") => Some(Read::Text(self.long_strings()?)),
            b'\'' => Some(Read::Text(self.quoted(b'\'')?)),
            b'+' if self.starts_with(b"+inf") && is_stop(self.peek_at(4)) => {
                self.i += 4;
                Some(Read::Float(f64::INFINITY))
            }
            b'-' if self.starts_with(b"-inf") && is_stop(self.peek_at(4)) => {
                self.i += 4;
                Some(Read::Float(f64::NEG_INFINITY))
            }
            c if c.is_ascii_digit()
                || (c == b'-' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                self.number_or_timestamp()
            }
            c if is_ident_start(c) => {
                let word = self.identifier();
                keyword(&word, self)
            }
            c if ctx == Context::Sexp && OPERATOR.contains(&c) => {
                let start = self.i;
                while self.peek().is_some_and(|c| OPERATOR.contains(&c)) {
                    self.i += 1;
                }
                Some(Read::Text(
                    String::from_utf8_lossy(&self.s[start..self.i]).into_owned(),
                ))
            }
            _ => None,
        }
    }

    fn identifier(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(is_ident) {
            self.i += 1;
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    /// A short string (`"…"`) or a quoted symbol (`'…'`): no raw line break inside.
    fn quoted(&mut self, delimiter: u8) -> Option<String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                c if c == delimiter => break,
                b'\n' | b'\r' => return None,
                b'\\' => self.escape(&mut out)?,
                c => out.push(c),
            }
        }
        String::from_utf8(out).ok()
    }

    /// `'''…'''`, and the ones that follow it (whitespace and comments between), concatenated.
    fn long_strings(&mut self) -> Option<String> {
        let mut out = Vec::new();
        loop {
            self.i += 3;
            loop {
                if self.starts_with(b"'''") {
                    self.i += 3;
                    break;
                }
                let c = self.peek()?;
                self.i += 1;
                if c == b'\\' {
                    self.escape(&mut out)?;
                } else {
                    out.push(c);
                }
            }
            let save = self.i;
            self.skip_ws()?;
            if !self.starts_with(b"'''") {
                self.i = save;
                break;
            }
        }
        String::from_utf8(out).ok()
    }

    /// The escape after a backslash (Ion's: `\a \b \t \n \f \r \v \" \' \? \\ \/ \0 \xHH \uHHHH
    /// \UHHHHHHHH`, and a backslash before a line break joins the lines).
    fn escape(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let c = self.peek()?;
        self.i += 1;
        let ch: char = match c {
            b'a' => '\u{7}',
            b'b' => '\u{8}',
            b't' => '\t',
            b'n' => '\n',
            b'f' => '\u{c}',
            b'r' => '\r',
            b'v' => '\u{b}',
            b'"' => '"',
            b'\'' => '\'',
            b'?' => '?',
            b'\\' => '\\',
            b'/' => '/',
            b'0' => '\0',
            b'\n' => return Some(()),
            b'\r' => {
                if self.peek() == Some(b'\n') {
                    self.i += 1;
                }
                return Some(());
            }
            b'x' => self.hex_char(2)?,
            b'u' => {
                let first = self.hex_code(4)?;
                if (0xD800..0xDC00).contains(&first) && self.starts_with(b"\\u") {
                    self.i += 2;
                    let low = self.hex_code(4)?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return None;
                    }
                    char::from_u32(0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00))?
                } else {
                    char::from_u32(first)?
                }
            }
            b'U' => self.hex_char(8)?,
            _ => return None,
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Some(())
    }

    fn hex_code(&mut self, n: usize) -> Option<u32> {
        let digits = self.s.get(self.i..self.i + n)?;
        let text = std::str::from_utf8(digits).ok()?;
        let code = u32::from_str_radix(text, 16).ok()?;
        self.i += n;
        Some(code)
    }

    fn hex_char(&mut self, n: usize) -> Option<char> {
        char::from_u32(self.hex_code(n)?)
    }

    fn list(&mut self) -> Option<Read> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            if self.peek()? == b']' {
                self.i += 1;
                return Some(Read::List(items));
            }
            items.push(self.value(Context::Container)?);
            self.skip_ws()?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {}
                _ => return None,
            }
        }
    }

    /// An s-expression: Jackson reads it as an array.
    fn sexp(&mut self) -> Option<Read> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.skip_ws()?;
            if self.peek()? == b')' {
                self.i += 1;
                return Some(Read::List(items));
            }
            items.push(self.value(Context::Sexp)?);
        }
    }

    fn structure(&mut self) -> Option<Read> {
        self.i += 1;
        let mut fields = Vec::new();
        loop {
            self.skip_ws()?;
            if self.peek()? == b'}' {
                self.i += 1;
                return Some(Read::Struct(fields));
            }
            let name = match self.peek()? {
                b'"' => self.quoted(b'"')?,
                b'\'' if self.starts_with(b"'''") => self.long_strings()?,
                b'\'' => self.quoted(b'\'')?,
                c if is_ident_start(c) => self.identifier(),
                _ => return None,
            };
            self.skip_ws()?;
            if self.peek()? != b':' || self.peek_at(1) == Some(b':') {
                return None;
            }
            self.i += 1;
            let v = self.value(Context::Container)?;
            fields.retain(|(k, _): &(String, Read)| *k != name);
            fields.push((name, v));
            self.skip_ws()?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {}
                _ => return None,
            }
        }
    }

    /// `{{ base64 }}` (a blob) or `{{ "text" }}` (a clob): a `byte[]`.
    fn lob(&mut self) -> Option<Read> {
        self.i += 2;
        let skip_spaces = |p: &mut Self| {
            while p
                .peek()
                .is_some_and(|c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0B | 0x0C))
            {
                p.i += 1;
            }
        };
        skip_spaces(self);
        let bytes = match self.peek()? {
            b'"' => self.quoted(b'"')?.into_bytes(),
            b'\'' if self.starts_with(b"'''") => self.long_strings()?.into_bytes(),
            _ => {
                let mut text = Vec::new();
                while let Some(c) = self.peek() {
                    if c == b'}' {
                        break;
                    }
                    if !c.is_ascii_whitespace() {
                        text.push(c);
                    }
                    self.i += 1;
                }
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(&text)
                    .ok()?
            }
        };
        skip_spaces(self);
        if !self.starts_with(b"}}") {
            return None;
        }
        self.i += 2;
        Some(Read::Bytes(bytes))
    }

    fn number_or_timestamp(&mut self) -> Option<Read> {
        let start = self.i;
        let digits4 = self
            .s
            .get(start..start + 4)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
        if digits4 && matches!(self.peek_at(4), Some(b'-' | b'T')) {
            return self.timestamp();
        }
        self.number()
    }

    /// Ion's int, decimal and float: `-`, then digits (no leading zero, `_` between digits), or
    /// `0x…`/`0b…`; a `.` fraction; an `e` exponent (a float) or a `d` one (a decimal).
    fn number(&mut self) -> Option<Read> {
        let start = self.i;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        if self.peek() == Some(b'0') && matches!(self.peek_at(1), Some(b'x' | b'X' | b'b' | b'B')) {
            let radix = if matches!(self.peek_at(1), Some(b'x' | b'X')) {
                16
            } else {
                2
            };
            self.i += 2;
            let digits = self.digit_run(|c| {
                if radix == 16 {
                    c.is_ascii_hexdigit()
                } else {
                    c == b'0' || c == b'1'
                }
            })?;
            if !is_stop(self.peek()) {
                return None;
            }
            let n = i128::from_str_radix(&digits, radix).ok()?;
            let n = if negative { -n } else { n };
            return Some(Read::Int(n.to_string()));
        }
        let int_part = self.digit_run(|c| c.is_ascii_digit())?;
        if int_part.len() > 1 && int_part.starts_with('0') {
            return None;
        }
        let mut text = String::new();
        if negative {
            text.push('-');
        }
        text.push_str(&int_part);
        let mut fraction = false;
        let mut kind = 'i';
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                let f = self.digit_run(|c| c.is_ascii_digit())?;
                text.push('.');
                text.push_str(&f);
                fraction = true;
            }
            kind = 'd';
        }
        if let Some(e @ (b'e' | b'E' | b'd' | b'D')) = self.peek() {
            self.i += 1;
            kind = if matches!(e, b'e' | b'E') { 'f' } else { 'd' };
            text.push('e');
            if let Some(sign @ (b'+' | b'-')) = self.peek() {
                text.push(char::from(sign));
                self.i += 1;
            }
            let exp = self.digit_run(|c| c.is_ascii_digit())?;
            text.push_str(&exp);
            fraction = true;
        }
        if !is_stop(self.peek()) {
            self.i = start;
            return None;
        }
        match kind {
            'i' => Some(Read::Int(text)),
            'f' => Some(Read::Float(text.parse().ok()?)),
            _ => Some(Read::Decimal(text.parse().ok()?, fraction)),
        }
    }

    /// One or more digits, `_` allowed only between two of them.
    fn digit_run(&mut self, digit: impl Fn(u8) -> bool) -> Option<String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if digit(c) {
                out.push(char::from(c));
                self.i += 1;
            } else if c == b'_' && !out.is_empty() && self.peek_at(1).is_some_and(&digit) {
                self.i += 1;
            } else {
                break;
            }
        }
        (!out.is_empty()).then_some(out)
    }

    fn fixed(&mut self, n: usize) -> Option<u32> {
        let d = self.s.get(self.i..self.i + n)?;
        if !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.i += n;
        std::str::from_utf8(d).ok()?.parse().ok()
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.peek() == Some(c)).then(|| self.i += 1)
    }

    /// An Ion timestamp (`2026T`, `2026-12T`, `2026-12-07`, `2026-12-07T`,
    /// `2026-12-07T10:00Z`, `…T10:00:00.123+02:00`…): a time needs an offset, `-00:00` is an
    /// unknown one. Read as Kestra's `IonParser` reads it.
    fn timestamp(&mut self) -> Option<Read> {
        let year = self.fixed(4)?;
        if year == 0 {
            return None;
        }
        let year = i32::try_from(year).ok()?;
        let mut month = 1u8;
        let mut day = 1u8;
        let mut time: Option<(u8, u8, u8, u32, Option<i32>)> = None;
        if self.peek() == Some(b'T') {
            self.i += 1;
        } else {
            self.expect(b'-')?;
            month = u8::try_from(self.fixed(2)?).ok()?;
            if self.peek() == Some(b'T') {
                self.i += 1;
            } else {
                self.expect(b'-')?;
                day = u8::try_from(self.fixed(2)?).ok()?;
                if self.peek() == Some(b'T') {
                    self.i += 1;
                    if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        time = Some(self.time_of_day()?);
                    }
                }
            }
        }
        if !is_stop(self.peek()) {
            return None;
        }
        let date = Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()?;
        let Some((h, m, s, millis, offset)) = time else {
            // Day precision or coarser: an unknown offset, midnight UTC, a LocalDate.
            return Some(Read::LocalDate(date));
        };
        let t = Time::from_hms_milli(h, m, s, u16::try_from(millis).ok()?).ok()?;
        let local = PrimitiveDateTime::new(date, t);
        let offset_minutes = offset.unwrap_or(0);
        let local_ms = i64::try_from(local.assume_utc().unix_timestamp_nanos() / 1_000_000).ok()?;
        let ms = local_ms - i64::from(offset_minutes) * 60_000;
        if offset_minutes == 0 {
            // Unknown (-00:00) or zero offset: midnight UTC is a LocalDate, else an Instant.
            if ms.rem_euclid(DAY_MS) == 0 {
                return Some(Read::LocalDate(utc_date(ms)));
            }
            return Some(Read::Instant(ms));
        }
        Some(Read::Zoned(ms, offset_minutes))
    }

    /// `hh:mm[:ss[.fff…]]` and its offset (`Z`, `+hh:mm`, `-hh:mm`; `-00:00` unknown, as 0):
    /// the fraction truncated to milliseconds, as `Timestamp.calendarValue()` does.
    fn time_of_day(&mut self) -> Option<(u8, u8, u8, u32, Option<i32>)> {
        let h = u8::try_from(self.fixed(2)?).ok()?;
        self.expect(b':')?;
        let m = u8::try_from(self.fixed(2)?).ok()?;
        let mut s = 0u8;
        let mut millis = 0u32;
        if self.peek() == Some(b':') {
            self.i += 1;
            s = u8::try_from(self.fixed(2)?).ok()?;
            if self.peek() == Some(b'.') {
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
                let frac = &self.s[start..self.i];
                if frac.is_empty() {
                    return None;
                }
                let mut padded: Vec<u8> = frac.iter().take(3).copied().collect();
                padded.resize(3, b'0');
                millis = std::str::from_utf8(&padded).ok()?.parse().ok()?;
            }
        }
        if h > 23 || m > 59 || s > 59 {
            return None;
        }
        let offset = match self.peek()? {
            b'Z' => {
                self.i += 1;
                Some(0)
            }
            sign @ (b'+' | b'-') => {
                self.i += 1;
                let oh = self.fixed(2)?;
                self.expect(b':')?;
                let om = self.fixed(2)?;
                if oh > 23 || om > 59 {
                    return None;
                }
                let total = i32::try_from(oh * 60 + om).ok()?;
                Some(if sign == b'-' { -total } else { total })
            }
            // A time without an offset is not Ion (`IERR_INVALID_TIMESTAMP`).
            _ => return None,
        };
        Some((h, m, s, millis, offset))
    }
}

/// `true`, `false`, `nan`, `null`, `null.<type>`; any other word is a symbol (a string).
fn keyword(word: &str, p: &mut Parser<'_>) -> Option<Read> {
    match word {
        "true" => Some(Read::Bool(true)),
        "false" => Some(Read::Bool(false)),
        "nan" => Some(Read::Float(f64::NAN)),
        "null" if p.peek() == Some(b'.') => {
            p.i += 1;
            let ty = p.identifier();
            const TYPES: &[&str] = &[
                "null",
                "bool",
                "int",
                "float",
                "decimal",
                "timestamp",
                "string",
                "symbol",
                "blob",
                "clob",
                "struct",
                "list",
                "sexp",
            ];
            TYPES.contains(&ty.as_str()).then_some(Read::Null)
        }
        "null" => Some(Read::Null),
        _ => Some(Read::Text(word.to_string())),
    }
}

/// `IonParser.getEmbeddedObject`: the `java.time` class an annotation names, parsed from the
/// annotated string. Other annotations, and a text Java's parser would refuse, are not modelled:
/// `None` (the body is kept as text).
fn annotated(annotation: &str, v: Read) -> Option<Read> {
    let Read::Text(text) = v else {
        return None;
    };
    match annotation {
        "Instant" => {
            let ms = crate::timefmt::parse_instant(&text)?;
            Some(Read::Instant(ms))
        }
        "LocalDate" => {
            let d = Date::parse(
                &text,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .ok()?;
            Some(Read::LocalDate(d))
        }
        "LocalDateTime" => {
            let (d, t) = text.split_once('T')?;
            let date =
                Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
            let with_offset = format!("{t}Z");
            let mut p = Parser {
                s: with_offset.as_bytes(),
                i: 0,
            };
            let (h, m, s, millis, _) = p.time_of_day()?;
            if !p.at_end() {
                return None;
            }
            let time = Time::from_hms_milli(h, m, s, u16::try_from(millis).ok()?).ok()?;
            Some(Read::LocalDateTime(PrimitiveDateTime::new(date, time)))
        }
        "ZonedDateTime" | "OffsetDateTime" => {
            crate::timefmt::parse_instant(&text)?;
            Some(Read::OtherTime(text))
        }
        "OffsetTime" | "LocalTime" => Some(Read::OtherTime(text)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The GET answer (`type`, `value`) for a body, the duration reading included.
    fn get(body: &str) -> (String, Value) {
        let (kind, value) = kv_value(body);
        if kind == "STRING"
            && let Some(Ok(d)) = value.as_str().and_then(duration_of)
        {
            return ("DURATION".into(), Value::String(d));
        }
        (kind.into(), value)
    }

    fn row(body: &str, kind: &str, value: Value) {
        assert_eq!(get(body), (kind.to_string(), value), "body {body:?}");
    }

    // One test per row of the result table (notes: Kestra 1.3.25 `KVController.setKeyValue`,
    // `IonParser`, `InternalKVStore`, `KVType.from`).

    #[test]
    fn utc_timestamps_are_datetimes() {
        row(
            "2026-12-07T10:00:00Z",
            "DATETIME",
            json!("2026-12-07T10:00:00Z"),
        );
        row(
            "2026-12-07T10:00:00.123Z",
            "DATETIME",
            json!("2026-12-07T10:00:00.123Z"),
        );
    }

    #[test]
    fn sub_millisecond_precision_is_truncated() {
        row(
            "2026-12-07T10:00:00.123456Z",
            "DATETIME",
            json!("2026-12-07T10:00:00.123Z"),
        );
        row(
            "2026-12-07T10:00:00.1239Z",
            "DATETIME",
            json!("2026-12-07T10:00:00.123Z"),
        );
        row(
            "2026-12-07T10:00:00.1Z",
            "DATETIME",
            json!("2026-12-07T10:00:00.100Z"),
        );
    }

    #[test]
    fn zero_and_unknown_offsets_and_minute_precision_are_utc() {
        for body in [
            "2026-12-07T10:00:00+00:00",
            "2026-12-07T10:00:00-00:00",
            "2026-12-07T10:00Z",
        ] {
            row(body, "DATETIME", json!("2026-12-07T10:00:00Z"));
        }
    }

    #[test]
    fn utc_midnight_is_a_date() {
        for body in [
            "2026-12-07T00:00:00Z",
            "2026-12-07T00:00Z",
            "2026-12-07T00:00:00.000Z",
            "2026-12-07T00:00:00+00:00",
            "2026-12-07T00:00:00-00:00",
            // Below the millisecond, truncated first.
            "2026-12-07T00:00:00.0004Z",
        ] {
            row(body, "DATE", json!("2026-12-07"));
        }
    }

    #[test]
    fn a_non_zero_offset_at_utc_midnight_is_json() {
        row(
            "2026-12-06T22:00:00-02:00",
            "JSON",
            json!("2026-12-06T22:00:00-02:00"),
        );
    }

    #[test]
    fn a_non_zero_offset_is_json_kept_as_sent() {
        row(
            "2026-12-07T10:00:00+02:00",
            "JSON",
            json!("2026-12-07T10:00:00+02:00"),
        );
        row(
            "2026-12-07T10:00:00.5-05:30",
            "JSON",
            json!("2026-12-07T10:00:00.5-05:30"),
        );
    }

    #[test]
    fn dates_are_dates() {
        row("2026-12-07", "DATE", json!("2026-12-07"));
        row("2026-12-07T", "DATE", json!("2026-12-07"));
        // Coarser Ion precisions are dates too.
        row("2026-12T", "DATE", json!("2026-12-01"));
        row("2026T", "DATE", json!("2026-01-01"));
    }

    #[test]
    fn a_time_without_offset_is_kept_as_text() {
        row(
            "2026-12-07T10:00:00",
            "STRING",
            json!("2026-12-07T10:00:00"),
        );
        row("2026-12-07T10:00", "STRING", json!("2026-12-07T10:00"));
        // Not a day of the calendar: not Ion either.
        row("2026-02-30", "STRING", json!("2026-02-30"));
    }

    #[test]
    fn quoted_timestamps_are_strings() {
        row(
            "\"2026-12-07T10:00:00Z\"",
            "STRING",
            json!("2026-12-07T10:00:00Z"),
        );
        row("\"2026-12-07\"", "STRING", json!("2026-12-07"));
    }

    #[test]
    fn duration_pattern_strings_are_durations() {
        row("\"PT5S\"", "DURATION", json!("PT5S"));
        row("PT5S", "DURATION", json!("PT5S"));
        // `Duration.toString()` of what `Duration.parse` read.
        row("\"P1D\"", "DURATION", json!("PT24H"));
        row("\"PT90M\"", "DURATION", json!("PT1H30M"));
        row("\"P2DT3H4M5S\"", "DURATION", json!("PT51H4M5S"));
        row("\"PT0S\"", "DURATION", json!("PT0S"));
    }

    #[test]
    fn strings_outside_the_duration_pattern_stay_strings() {
        row("\"P1W\"", "STRING", json!("P1W"));
        row("\"PT1.5S\"", "STRING", json!("PT1.5S"));
        row("\"-PT5S\"", "STRING", json!("-PT5S"));
        row("\"P\"", "STRING", json!("P"));
        row("\"PT\"", "STRING", json!("PT"));
        // Of the pattern, refused by `Duration.parse`: the GET fails.
        assert_eq!(duration_of("PD").map(|r| r.is_err()), Some(true));
    }

    #[test]
    fn numbers() {
        row("1", "NUMBER", json!(1));
        row("1.0", "NUMBER", json!(1.0));
        row("1e0", "NUMBER", json!(1.0));
        row("-42", "NUMBER", json!(-42));
        row("1_000", "NUMBER", json!(1000));
        row("0x1F", "NUMBER", json!(31));
        row("1.", "NUMBER", json!(1));
        row("1.5d3", "NUMBER", json!(1500.0));
        row("nan", "NUMBER", json!("NaN"));
        row("-inf", "NUMBER", json!("-Infinity"));
        // Not Ion numbers: kept as text.
        row("007", "STRING", json!("007"));
        row("+1", "STRING", json!("+1"));
    }

    #[test]
    fn booleans() {
        row("true", "BOOLEAN", json!(true));
        row("false", "BOOLEAN", json!(false));
    }

    #[test]
    fn json_and_ion_containers() {
        row("{\"a\":1}", "JSON", json!({"a": 1}));
        row("[1,2]", "JSON", json!([1, 2]));
        row("{a:1}", "JSON", json!({"a": 1}));
        row(
            "{\"at\": 2026-12-07T10:00:00Z, \"day\": 2026-12-07T00:00:00Z, \"s\": 'sym'}",
            "JSON",
            json!({"at": "2026-12-07T10:00:00Z", "day": "2026-12-07", "s": "sym"}),
        );
        row("(a + 1)", "JSON", json!(["a", "+", 1]));
        row("{{aGVsbG8=}}", "JSON", json!("aGVsbG8="));
        row("{{\"hello\"}}", "JSON", json!("aGVsbG8="));
        // A nested duration-like string is not read back as a duration (top level only).
        row("[\"PT5S\"]", "JSON", json!(["PT5S"]));
    }

    #[test]
    fn null() {
        row("null", "STRING", Value::Null);
        row("null.string", "STRING", Value::Null);
    }

    #[test]
    fn invalid_ion_is_kept_as_text() {
        row("1.2.3", "STRING", json!("1.2.3"));
        row("{\"a\":", "STRING", json!("{\"a\":"));
        row("\"unterminated", "STRING", json!("\"unterminated"));
    }

    #[test]
    fn unquoted_words_are_symbols_read_to_the_first_value() {
        row("hello", "STRING", json!("hello"));
        row("hello world", "STRING", json!("hello"));
        row("'quoted symbol'", "STRING", json!("quoted symbol"));
    }

    #[test]
    fn ion_details() {
        // Comments and whitespace around, escapes, long strings concatenated.
        row("  // a comment\n 42 ", "NUMBER", json!(42));
        row("\"a\\tb\\u00e9\"", "STRING", json!("a\tbé"));
        row("'''a''' '''b'''", "STRING", json!("ab"));
        row("$ion_1_0 7", "NUMBER", json!(7));
        // Annotated java.time strings, as Kestra's own Ion writer stores them.
        row(
            "Instant::\"2026-12-07T10:00:00Z\"",
            "DATETIME",
            json!("2026-12-07T10:00:00Z"),
        );
        row(
            "Instant::\"2026-12-07T00:00:00Z\"",
            "DATE",
            json!("2026-12-07"),
        );
        row(
            "LocalDateTime::\"2026-12-07T00:00:00\"",
            "DATETIME",
            json!("2026-12-07T00:00:00"),
        );
        row(
            "ZonedDateTime::\"2026-12-07T10:00:00+02:00\"",
            "JSON",
            json!("2026-12-07T10:00:00+02:00"),
        );
    }
}
