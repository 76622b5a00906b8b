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

fn dotenv_error(path: &Path, e: &dotenvy::Error) -> Error {
    // dotenvy's parse errors quote the offending line, which may hold a password; report only the
    // position.
    let detail = match e {
        dotenvy::Error::LineParse(_, index) => {
            format!("a line could not be parsed (at character {index} of the line)")
        }
        dotenvy::Error::Io(io) => io.to_string(),
        _ => "it could not be parsed".to_string(),
    };
    Error::settings(
        format!("cannot read {}: {detail}", path.display()),
        "fix the line (KEY=value, one per line; quote values with spaces) or move the file away",
    )
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
    }

    #[test]
    fn missing_file_is_empty() {
        let env = DotEnv::load(Path::new("/definitely/not/here/.env")).unwrap();
        assert!(env.path.is_none());
    }
}
