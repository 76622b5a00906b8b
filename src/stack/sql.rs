//! SQL run inside the stack's Postgres container, as its superuser over the local socket (no
//! password on any command line: the SQL goes through standard input).

use std::time::Duration;

use super::engine::Engine;
use crate::error::{Error, Result};

/// A Postgres identifier, quoted.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A Postgres string literal, quoted.
pub fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// Runs `sql` with psql in `container` as the database user `user`, connected to `database`;
/// stops at the first error, whose words become the error's.
pub async fn psql(
    engine: &Engine,
    container: &str,
    user: &str,
    database: &str,
    sql: &[u8],
    timeout: Duration,
) -> Result<String> {
    let (code, output) = engine
        .exec_with_stdin(
            container,
            "postgres",
            &[
                "psql",
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "--no-password",
                "-U",
                user,
                "-d",
                database,
                "-f",
                "-",
            ],
            sql,
            timeout,
        )
        .await?;
    if code != 0 {
        return Err(Error::engine(
            format!(
                "psql in {container} exited with code {code}: {}",
                output.trim()
            ),
            format!("check Postgres (`docker logs {container}`)"),
        ));
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(quote_ident("kestra"), "\"kestra\"");
        assert_eq!(quote_ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
