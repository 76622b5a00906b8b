//! The seed's `.env` in the working directory. It is shared with other services of the operator's
//! stack, so unknown keys are ignored; only the keys kestractl knows are read, and only as values
//! (the file never changes our process environment).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct DotEnv {
    /// The file it was read from; `None` when there is no `.env`.
    pub path: Option<PathBuf>,
    values: HashMap<String, String>,
}

impl DotEnv {
    pub fn load(path: &Path) -> Result<Self> {
        if !path.exists() {
            return Ok(Self::default());
        }
        trusted(path)?;
        let iter = dotenvy::from_path_iter(path).map_err(|e| dotenv_error(path, &e))?;
        let mut values = HashMap::new();
        for item in iter {
            let (k, v) = item.map_err(|e| dotenv_error(path, &e))?;
            values.insert(k, v);
        }
        Ok(DotEnv {
            path: Some(path.to_path_buf()),
            values,
        })
    }

    #[cfg(test)]
    pub fn from_pairs(path: &str, pairs: &[(&str, &str)]) -> Self {
        DotEnv {
            path: Some(PathBuf::from(path)),
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// A non-empty value for `key`. Empty assignments (`KEY=`) count as unset, as the seed's
    /// shell scripts treated them.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
}

/// A `.env` is read only when it is the user's own and only the user may change it: one that
/// another user owns, or that others may write, could have been planted or edited by them, and
/// it picks images, folders and servers.
fn trusted(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
        let me = nix::unistd::getuid().as_raw();
        if meta.uid() != me {
            return Err(Error::unsafe_(
                format!(
                    "{} belongs to user id {}, not to you (user id {me}); kestractl reads only a \
                     .env of your own",
                    path.display(),
                    meta.uid()
                ),
                "check what it sets, then take it over (`chown`) or move it away",
            ));
        }
        let mode = meta.mode() & 0o777;
        if mode & 0o022 != 0 {
            return Err(Error::unsafe_(
                format!(
                    "{} may be changed by others (mode {mode:04o}); kestractl reads only a .env \
                     that only you may write",
                    path.display()
                ),
                format!("check what it sets, then `chmod go-w {}`", path.display()),
            ));
        }
    }
    Ok(())
}

fn dotenv_error(path: &Path, e: &dotenvy::Error) -> Error {
    let text = std::fs::read_to_string(path).ok();
    Error::settings(
        format!(
            "cannot read {}: {}",
            path.display(),
            parse_error_detail(text.as_deref(), e)
        ),
        "fix the line (KEY=value, one per line; quote values with spaces) or move the file away",
    )
}

/// What is wrong in a `.env` and where, never what the line says: dotenvy's errors quote the
/// offending line, which may hold a password. dotenvy only gives the line's text and an index
/// into it; the line number is found by locating that text in the file. (Before, the message
/// was "at character 55 of the line" with no line number, and for an unterminated quote the
/// "line" was the rest of the file.)
pub fn parse_error_detail(text: Option<&str>, e: &dotenvy::Error) -> String {
    let dotenvy::Error::LineParse(logical, index) = e else {
        return match e {
            dotenvy::Error::Io(io) => io.to_string(),
            _ => "it could not be parsed".to_string(),
        };
    };
    // dotenvy reads a value in quotes across lines until the closing quote; without one, it
    // fails at the very end of what it read.
    let unterminated = *index >= logical.len();
    let text = text.map(|t| t.strip_prefix('\u{feff}').unwrap_or(t));
    // The logical line starts at the beginning of a line of the file.
    let start = text.and_then(|t| {
        t.match_indices(logical.as_str())
            .map(|(i, _)| i)
            .find(|&i| i == 0 || t.as_bytes()[i - 1] == b'\n')
    });
    match (text, start) {
        (Some(t), Some(start)) if unterminated => {
            let line = t[..start].matches('\n').count() + 1;
            format!(
                "line {line}: a quoted value is never closed (a ' or \" without its closing quote)"
            )
        }
        (Some(t), Some(start)) => {
            let at = (start + index).min(t.len());
            let before = &t[..at];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: this line could not be parsed")
        }
        _ if unterminated => {
            "a quoted value is never closed (a ' or \" without its closing quote)".to_string()
        }
        _ => format!("a line could not be parsed (at character {index} of the line)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keys_without_touching_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "# seed settings\nKESTRA_HTTP_PORT=18080\nexport KESTRA_IMAGE=\"kestra/kestra:v2.0.5\"\nEMPTY=\nOTHER_SERVICE=x\n",
        )
        .unwrap();
        let env = DotEnv::load(&path).unwrap();
        assert_eq!(env.get("KESTRA_HTTP_PORT"), Some("18080"));
        assert_eq!(env.get("KESTRA_IMAGE"), Some("kestra/kestra:v2.0.5"));
        assert_eq!(env.get("EMPTY"), None);
        assert!(std::env::var("KESTRA_HTTP_PORT").is_err());
    }

    #[test]
    fn a_bad_line_is_reported_without_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(
            &path,
            "GOOD=1\nKESTRA_BASICAUTH_PASSWORD='Secr3t-unterminated\n",
        )
        .unwrap();
        let err = DotEnv::load(&path).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(".env"), "{text}");
        assert!(!text.contains("Secr3t"), "leaked: {text}");
        assert!(
            text.contains("line 2: a quoted value is never closed"),
            "{text}"
        );

        // Any other bad line: its line and column, still not its content.
        std::fs::write(
            &path,
            "GOOD=1

BAD KEY=Secr3t
",
        )
        .unwrap();
        let text = DotEnv::load(&path).unwrap_err().to_string();
        assert!(text.contains("line 3, column "), "{text}");
        assert!(!text.contains("Secr3t"), "leaked: {text}");
    }

    #[test]
    fn a_dotenv_others_may_write_or_own_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".env");
        std::fs::write(&path, "KESTRA_IMAGE=x/y\n").unwrap();
        for mode in [0o666, 0o620, 0o602] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = DotEnv::load(&path).unwrap_err();
            assert!(
                err.to_string().contains("may be changed by others"),
                "{err}"
            );
            assert!(err.hint().unwrap().contains("chmod go-w"), "{err:?}");
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(
            DotEnv::load(&path).unwrap().get("KESTRA_IMAGE"),
            Some("x/y")
        );
        if nix::unistd::getuid().is_root() {
            std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
            let err = DotEnv::load(&path).unwrap_err();
            assert!(err.to_string().contains("not to you"), "{err}");
        }
    }

    #[test]
    fn missing_file_is_empty() {
        let env = DotEnv::load(Path::new("/definitely/not/here/.env")).unwrap();
        assert!(env.path.is_none());
    }
}
