//! Writing and reading the backup archive (`tar.gz`), with the size and SHA-256 of every entry
//! computed while the bytes pass, so nothing is read twice and nothing is held whole in memory.
//! Reading is strict: a path outside the known layout, a link, a truncated or corrupt stream, or
//! an entry that does not match the manifest makes the archive unusable (exit 5).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Component, Path};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::archive_manifest::{self, Entry, Manifest};
use super::{CONFIG_ENTRY, DUMP_ENTRY, MANIFEST_ENTRY, STORAGE_PREFIX};
use crate::error::{Error, Result};

/// A manifest is small; a bigger one is not ours.
const MANIFEST_CAP: u64 = 64 * 1024 * 1024;

/// Counts and hashes what is read through it, and remembers a read error so a failure of the
/// archive can be told from a failure of where its bytes were going.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    read_error: Option<String>,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            count: 0,
            read_error: None,
        }
    }

    fn entry(self, path: &str) -> Entry {
        Entry {
            path: path.to_string(),
            size: self.count,
            sha256: hex(&self.hasher.finalize()),
        }
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.count += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.read_error = Some(e.to_string());
                Err(e)
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An archive being written to `path` (created new, 0600; never an existing file).
pub struct Writer {
    tar: tar::Builder<GzEncoder<BufWriter<File>>>,
    entries: Vec<Entry>,
    path: std::path::PathBuf,
}

impl Writer {
    pub fn create(path: &Path) -> Result<Writer> {
        let file = create_private(path)?;
        // `fast`: the dump is written uncompressed, so this is the only compression; level 1
        // keeps a backup I/O-bound rather than CPU-bound on a small machine.
        let gz = GzEncoder::new(BufWriter::with_capacity(1 << 20, file), Compression::fast());
        let mut tar = tar::Builder::new(gz);
        tar.mode(tar::HeaderMode::Deterministic);
        tar.follow_symlinks(false);
        Ok(Writer {
            tar,
            entries: Vec::new(),
            path: path.to_path_buf(),
        })
    }

    fn write_error(&self, e: &io::Error) -> Error {
        Error::io(
            "cannot write the backup",
            &self.path,
            io::Error::new(e.kind(), e.to_string()),
        )
    }

    /// Appends the file at `source` as `name`. A file that shrinks while it is copied (Kestra
    /// writing during an online backup) is an error that says how to avoid it.
    pub fn append_file(
        &mut self,
        name: &str,
        source: &Path,
        on_bytes: &dyn Fn(u64) -> bool,
    ) -> Result<()> {
        let file = File::open(source).map_err(|e| Error::io("cannot read", source, e))?;
        let meta = file
            .metadata()
            .map_err(|e| Error::io("cannot read", source, e))?;
        let len = meta.len();
        let mut header = tar::Header::new_gnu();
        header.set_size(len);
        header.set_mode(0o600);
        header.set_entry_type(tar::EntryType::Regular);
        let mut reader = Hashing::new(Progressing {
            inner: file.take(len),
            seen: 0,
            on_bytes,
        });
        self.tar
            .append_data(&mut header, name, &mut reader)
            .map_err(|e| match reader.read_error.take() {
                Some(read) => Error::io("cannot read", source, io::Error::other(read)),
                None => self.write_error(&e),
            })?;
        if reader.count != len {
            return Err(Error::new(
                crate::error::Kind::Other,
                format!(
                    "{} changed while it was copied ({len} bytes became {}): Kestra was writing \
                     to it",
                    source.display(),
                    reader.count
                ),
                "take the backup again, or with --consistent, which stops Kestra for the copy",
            ));
        }
        self.entries.push(reader.entry(name));
        Ok(())
    }

    pub fn append_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_entry_type(tar::EntryType::Regular);
        let mut reader = Hashing::new(bytes);
        self.tar
            .append_data(&mut header, name, &mut reader)
            .map_err(|e| self.write_error(&e))?;
        self.entries.push(reader.entry(name));
        Ok(())
    }

    /// Appends every regular file under `dir` as `prefix` + its relative path, in a stable
    /// order. Links are skipped and named in the returned list (a backup never follows a link
    /// out of the storage directory).
    pub fn append_tree(
        &mut self,
        prefix: &str,
        dir: &Path,
        on_bytes: &dyn Fn(u64) -> bool,
    ) -> Result<Vec<String>> {
        let mut skipped = Vec::new();
        let mut files = Vec::new();
        collect_files(dir, dir, &mut files, &mut skipped)?;
        files.sort();
        let done = std::cell::Cell::new(0u64);
        for relative in files {
            let name = format!("{prefix}{relative}");
            let base = done.get();
            let progress = |n: u64| on_bytes(base + n);
            self.append_file(&name, &dir.join(&relative), &progress)?;
            done.set(base + self.entries.last().map_or(0, |e| e.size));
        }
        Ok(skipped)
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Appends `manifest.json` (last, so a reader has checked everything it lists by the time it
    /// reads it) and flushes the archive to disk.
    pub fn finish(mut self, manifest: &Manifest) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(manifest).map_err(anyhow::Error::from)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o600);
        header.set_entry_type(tar::EntryType::Regular);
        self.tar
            .append_data(&mut header, MANIFEST_ENTRY, bytes.as_slice())
            .map_err(|e| self.write_error(&e))?;
        let path = self.path.clone();
        let gz = self
            .tar
            .into_inner()
            .map_err(|e| Error::io("cannot write the backup", &path, e))?;
        let buffered = gz
            .finish()
            .map_err(|e| Error::io("cannot write the backup", &path, e))?;
        let file = buffered
            .into_inner()
            .map_err(|e| Error::io("cannot write the backup", &path, e.into_error()))?;
        file.sync_all()
            .map_err(|e| Error::io("cannot write the backup", &path, e))
    }
}

/// Reports a running byte count as bytes are read, and stops (an error) when told to.
struct Progressing<'a, R> {
    inner: R,
    seen: u64,
    on_bytes: &'a dyn Fn(u64) -> bool,
}

impl<R: Read> Read for Progressing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen += n as u64;
        if !(self.on_bytes)(self.seen) {
            return Err(io::Error::other("stopped by a signal"));
        }
        Ok(n)
    }
}

fn collect_files(
    root: &Path,
    dir: &Path,
    files: &mut Vec<String>,
    skipped: &mut Vec<String>,
) -> Result<()> {
    let read = std::fs::read_dir(dir).map_err(|e| Error::io("cannot read", dir, e))?;
    for item in read {
        let item = item.map_err(|e| Error::io("cannot read", dir, e))?;
        let path = item.path();
        let kind = item
            .file_type()
            .map_err(|e| Error::io("cannot read", &path, e))?;
        let relative = path
            .strip_prefix(root)
            .unwrap_or(&path)
            .to_string_lossy()
            .replace('\\', "/");
        if kind.is_symlink() {
            skipped.push(relative);
        } else if kind.is_dir() {
            collect_files(root, &path, files, skipped)?;
        } else if kind.is_file() {
            files.push(relative);
        } else {
            skipped.push(relative);
        }
    }
    Ok(())
}

/// A backup never overwrites a file.
pub fn already_exists(path: &Path) -> Error {
    Error::usage(
        format!("{} already exists", path.display()),
        "a backup never overwrites a file: choose another name with --file, or move the old one",
    )
}

/// Creates `path` new, readable by its owner only, before a byte is written to it.
pub fn create_private(path: &Path) -> Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::AlreadyExists {
            already_exists(path)
        } else {
            Error::io("cannot create", path, e)
        }
    })
}

/// Whether `path` is a name this format writes: the dump, the config, or a relative file path
/// under `storage/` with no `..`, no root and no empty part.
pub fn known_entry(path: &str) -> bool {
    if path == DUMP_ENTRY || path == CONFIG_ENTRY || path == MANIFEST_ENTRY {
        return true;
    }
    let Some(rest) = path.strip_prefix(STORAGE_PREFIX) else {
        return false;
    };
    !rest.is_empty()
        && !rest.contains('\\')
        && rest
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
        && Path::new(rest)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Where the bytes of each entry go while an archive is read: a file, a staging folder, or
/// nowhere (only checked). Errors here are the destination's, never the archive's.
pub trait Sink {
    fn entry(&mut self, path: &str, bytes: &mut dyn Read) -> Result<()>;
}

/// Checks only: every byte is read, hashed and dropped.
pub struct Discard;

impl Sink for Discard {
    fn entry(&mut self, _path: &str, bytes: &mut dyn Read) -> Result<()> {
        io::copy(bytes, &mut io::sink()).map_err(|e| Error::other(e.to_string()))?;
        Ok(())
    }
}

/// Reads the whole archive at `path`: every entry into `sink`, its size and checksum against the
/// manifest, the gzip stream to its end (its CRC). Returns the manifest once all of it agrees.
///
/// The manifest is the archive's last entry, so an entry's size is known to be right only at
/// the end: give `sink` [`Discard`] for a first reading, then, to write the entries anywhere,
/// [`read_known`] with the manifest that first reading returned.
pub fn read(path: &Path, sink: &mut dyn Sink, on_bytes: &dyn Fn(u64) -> bool) -> Result<Manifest> {
    read_file(path, sink, None, on_bytes)
}

/// [`read`] for an archive whose manifest a first reading returned: each entry must have the
/// size that manifest gives before a byte of it reaches `sink` (so no more than the manifest
/// says is ever written), and the archive must still hold that same manifest.
pub fn read_known(
    path: &Path,
    sink: &mut dyn Sink,
    known: &Manifest,
    on_bytes: &dyn Fn(u64) -> bool,
) -> Result<Manifest> {
    let name = path.display().to_string();
    let read = read_file(path, sink, Some(known), on_bytes)?;
    if read != *known {
        return Err(archive_manifest::damaged(
            &name,
            "it changed while it was being read (its manifest is not the one read first)",
        ));
    }
    Ok(read)
}

fn read_file(
    path: &Path,
    sink: &mut dyn Sink,
    known: Option<&Manifest>,
    on_bytes: &dyn Fn(u64) -> bool,
) -> Result<Manifest> {
    let name = path.display().to_string();
    let mut file = File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0);
    // A file that does not even start as gzip is not a backup: said plainly.
    let mut magic = [0u8; 2];
    let got = file
        .read(&mut magic)
        .map_err(|e| Error::io("cannot read", path, e))?;
    if got < 2 || magic != [0x1f, 0x8b] {
        return Err(archive_manifest::damaged(
            &name,
            "it is not a gzip archive (a kestractl backup is a .tar.gz file)",
        ));
    }
    let file = io::Read::chain(&magic[..], file);
    let mut counted = Progressing {
        inner: io::BufReader::with_capacity(1 << 20, file),
        seen: 0,
        on_bytes,
    };
    let sizes = known.map(|m| {
        m.entries
            .iter()
            .map(|e| (e.path.as_str(), e.size))
            .collect::<std::collections::HashMap<_, _>>()
    });
    let result = read_entries(&mut counted, &name, sink, sizes.as_ref());
    if let Err(e) = &result {
        tracing::debug!("reading {name} ({total} bytes): {e}");
    }
    result
}

fn read_entries<R: Read>(
    input: R,
    name: &str,
    sink: &mut dyn Sink,
    sizes: Option<&std::collections::HashMap<&str, u64>>,
) -> Result<Manifest> {
    // What tar or gzip said goes to -v; the operator reads what it means.
    let corrupt = |e: &dyn std::fmt::Display| {
        tracing::debug!("{name}: {e}");
        archive_manifest::damaged(
            name,
            "it is damaged: truncated, or corrupt (a byte changed on the way)",
        )
    };
    let mut archive = tar::Archive::new(GzDecoder::new(input));
    let mut read_entries = Vec::new();
    let mut found: Option<Manifest> = None;
    for item in archive.entries().map_err(|e| corrupt(&e))? {
        let mut item = item.map_err(|e| corrupt(&e))?;
        let path = item
            .path()
            .map_err(|e| corrupt(&e))?
            .to_string_lossy()
            .into_owned();
        // An entry's name is the archive's text: made inert before any message shows it.
        let shown = crate::sanitize::clean_str(&path).into_owned();
        if found.is_some() {
            return Err(archive_manifest::damaged(
                name,
                &format!("`{shown}` follows its manifest.json, which must come last"),
            ));
        }
        if item.header().entry_type() != tar::EntryType::Regular || !known_entry(&path) {
            return Err(archive_manifest::damaged(
                name,
                &format!("it holds `{shown}`, which is not part of a kestractl backup"),
            ));
        }
        if let Some(sizes) = sizes
            && path != MANIFEST_ENTRY
        {
            let size = item.header().size().map_err(|e| corrupt(&e))?;
            match sizes.get(path.as_str()) {
                None => {
                    return Err(archive_manifest::damaged(
                        name,
                        &format!("`{shown}` is not listed in its manifest"),
                    ));
                }
                Some(listed) if *listed != size => {
                    return Err(archive_manifest::damaged(
                        name,
                        &format!("`{shown}` has {size} bytes where the manifest says {listed}"),
                    ));
                }
                Some(_) => {}
            }
        }
        if path == MANIFEST_ENTRY {
            let mut bytes = Vec::new();
            (&mut item)
                .take(MANIFEST_CAP)
                .read_to_end(&mut bytes)
                .map_err(|e| corrupt(&e))?;
            found = Some(archive_manifest::parse(&bytes, name)?);
            continue;
        }
        let mut hashing = Hashing::new(&mut item);
        let delivered = sink.entry(&path, &mut hashing);
        if let Some(e) = hashing.read_error.take() {
            return Err(corrupt(&e));
        }
        delivered?;
        // Whatever the sink left unread still counts.
        io::copy(&mut hashing, &mut io::sink()).map_err(|e| corrupt(&e))?;
        read_entries.push(hashing.entry(&path));
    }
    // The end of the gzip stream carries its CRC: read to it.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| corrupt(&e))?;
    let Some(found) = found else {
        return Err(archive_manifest::damaged(
            name,
            "it has no manifest.json (it is truncated, or not a kestractl backup)",
        ));
    };
    if let Some(problem) = archive_manifest::mismatch(&found.entries, &read_entries) {
        return Err(archive_manifest::damaged(name, &problem));
    }
    Ok(found)
}

/// Writes the entries it is given into files: the dump to `dump`, storage files under `storage`
/// (created 0700), the rest checked only.
pub struct Extract<'a> {
    pub dump: &'a Path,
    pub storage: Option<&'a Path>,
}

impl Sink for Extract<'_> {
    fn entry(&mut self, path: &str, bytes: &mut dyn Read) -> Result<()> {
        let target = if path == DUMP_ENTRY {
            self.dump.to_path_buf()
        } else if let (Some(root), Some(rest)) = (self.storage, path.strip_prefix(STORAGE_PREFIX)) {
            let target = root.join(rest);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::io("cannot create", parent, e))?;
            }
            target
        } else {
            return Discard.entry(path, bytes);
        };
        let mut file = create_private(&target)?;
        io::copy(bytes, &mut file).map_err(|e| Error::io("cannot write", &target, e))?;
        file.flush()
            .map_err(|e| Error::io("cannot write", &target, e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::archive_manifest::{FORMAT, Part};

    fn manifest_for(entries: Vec<Entry>) -> Manifest {
        let part = Part {
            image: "i".into(),
            image_id: "sha256:0".into(),
            version: None,
            database: None,
        };
        Manifest {
            format: FORMAT.into(),
            created_at: "2026-12-06T00:00:00Z".into(),
            kestractl_version: "test".into(),
            consistency: "online".into(),
            kestra: part.clone(),
            postgres: part,
            served: None,
            entries,
        }
    }

    /// An archive with a dump of pseudo-random bytes (so compression cannot hide a flipped
    /// byte), a config and two storage files.
    fn sample(dir: &Path) -> std::path::PathBuf {
        let dump = dir.join("dump");
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let bytes: Vec<u8> = (0..300_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state & 0xff) as u8
            })
            .collect();
        std::fs::write(&dump, &bytes).unwrap();
        let storage = dir.join("storage");
        std::fs::create_dir_all(storage.join("main/company")).unwrap();
        std::fs::write(storage.join("main/company/file.txt"), b"hello").unwrap();
        std::fs::write(storage.join("top.bin"), [0u8, 1, 2, 255]).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", storage.join("link")).unwrap();
        let out = dir.join("b.tar.gz");
        let mut w = Writer::create(&out).unwrap();
        w.append_file(DUMP_ENTRY, &dump, &|_| true).unwrap();
        w.append_bytes(CONFIG_ENTRY, b"kestra: {}\n").unwrap();
        let skipped = w.append_tree(STORAGE_PREFIX, &storage, &|_| true).unwrap();
        #[cfg(unix)]
        assert_eq!(skipped, vec!["link".to_string()]);
        let m = manifest_for(w.entries().to_vec());
        w.finish(&m).unwrap();
        out
    }

    #[test]
    fn an_archive_reads_back_and_extracts() {
        let dir = tempfile::tempdir().unwrap();
        let out = sample(dir.path());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let m = read(&out, &mut Discard, &|_| true).unwrap();
        assert_eq!(m.entries.len(), 4);
        let staged = dir.path().join("staged");
        let dump = dir.path().join("dump.out");
        read(
            &out,
            &mut Extract {
                dump: &dump,
                storage: Some(&staged),
            },
            &|_| true,
        )
        .unwrap();
        assert_eq!(
            std::fs::read(&dump).unwrap(),
            std::fs::read(dir.path().join("dump")).unwrap()
        );
        assert_eq!(
            std::fs::read(staged.join("main/company/file.txt")).unwrap(),
            b"hello"
        );
        assert_eq!(
            std::fs::read(staged.join("top.bin")).unwrap(),
            [0u8, 1, 2, 255]
        );
        assert!(!staged.join("link").exists());
    }

    #[test]
    fn truncated_and_flipped_archives_are_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let out = sample(dir.path());
        let bytes = std::fs::read(&out).unwrap();
        let cut = dir.path().join("cut.tar.gz");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = read(&cut, &mut Discard, &|_| true).unwrap_err();
        assert_eq!(e.exit(), crate::error::Exit::InvalidInput, "{e}");
        for at in [bytes.len() / 3, bytes.len() - 10] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x40;
            let path = dir.path().join(format!("flip{at}.tar.gz"));
            std::fs::write(&path, &flipped).unwrap();
            let e = read(&path, &mut Discard, &|_| true).unwrap_err();
            assert_eq!(e.exit(), crate::error::Exit::InvalidInput, "{e}");
            assert!(e.message().contains("cannot be used"), "{e}");
        }
    }

    #[test]
    fn a_backup_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let out = sample(dir.path());
        let e = Writer::create(&out).err().unwrap();
        assert!(e.message().contains("already exists"), "{e}");
    }

    #[test]
    fn only_the_layout_is_accepted() {
        for ok in [
            "postgres.dump",
            "manifest.json",
            "config/application.yml",
            "storage/a/b.txt",
        ] {
            assert!(known_entry(ok), "{ok}");
        }
        for bad in [
            "storage/",
            "storage/../x",
            "/etc/passwd",
            "storage//a",
            "other",
            "storage/a/./b",
        ] {
            assert!(!known_entry(bad), "{bad}");
        }
    }
}
