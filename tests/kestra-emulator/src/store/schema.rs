//! Versions of the emulator's Postgres schema, modelled on Kestra's Flyway migrations: a newer
//! Kestra migrates the database forward at start-up, irreversibly, and an older Kestra then
//! refuses to start on it. Rolling back an upgrade therefore needs a database restore.
//!
//! - Schema 1: what 1.3 mode creates; each row's JSON document is in column `value`.
//! - Schema 2: what 2.0 and 2.1-dev modes use; that column is renamed `document` in
//!   `emulator_flows` and `emulator_executions` (1.3 code, which selects `value`, cannot read it).
//!
//! The version is one row of `emulator_schema_version`. A database the emulator wrote before it
//! had that table (the `emulator_*` tables, no version table) is schema 1.
//!
//! This module is the pure part: which schema a mode speaks, what to do with what was found,
//! the column names per schema. The SQL runs in [`super::postgres`].

use crate::version::KestraVersion;

/// The schema 1.3 mode creates.
pub const V1: i32 = 1;
/// The schema 2.0 and 2.1-dev modes create, or migrate a schema-1 database to.
pub const V2: i32 = 2;

/// The schema a mode reads and writes (and the newest it accepts).
pub fn supported(v: KestraVersion) -> i32 {
    match v {
        KestraVersion::V1_3 => V1,
        KestraVersion::V2_0 | KestraVersion::V2_1Dev => V2,
    }
}

/// The column holding each row's JSON document in `emulator_flows` and `emulator_executions`.
/// Logs, files and settings keep their schema-1 columns in every schema.
pub fn document_column(schema: i32) -> &'static str {
    if schema >= V2 { "document" } else { "value" }
}

/// What start-up does with the schema it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// An empty database: create the mode's own schema directly.
    Create { version: i32 },
    /// Already at the mode's schema.
    UpToDate { version: i32 },
    /// Older than the mode's schema: migrate forward, in one transaction with the version bump.
    Migrate { from: i32, to: i32 },
    /// Migrated by a newer Kestra: refuse to start, change nothing.
    RefuseNewer { found: i32, supported: i32 },
    /// A version no Kestra ever wrote (0 or below).
    RefuseInvalid { found: i32 },
}

/// Decide from the mode's schema and the version found (`None`: no emulator tables at all).
pub fn plan(supported: i32, found: Option<i32>) -> Plan {
    match found {
        None => Plan::Create { version: supported },
        Some(f) if f < V1 => Plan::RefuseInvalid { found: f },
        Some(f) if f > supported => Plan::RefuseNewer {
            found: f,
            supported,
        },
        Some(f) if f == supported => Plan::UpToDate { version: f },
        Some(f) => Plan::Migrate {
            from: f,
            to: supported,
        },
    }
}

/// The error a mode logs and exits with on a database migrated by a newer Kestra (Flyway's
/// "Validate failed" in Kestra).
pub fn newer_schema_error(found: i32, supported: i32, kestra: &str) -> String {
    format!(
        "Validate failed: the database schema is at version {found}, migrated by a newer Kestra; \
         this Kestra ({kestra}) supports schema version {supported} at most. \
         Migrations cannot be undone: restore the database backup taken before the upgrade"
    )
}

/// The line logged before migrating.
pub fn migrating_line(from: i32, to: i32) -> String {
    format!("Migrating database schema from {from} to {to} (irreversible)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_speak_their_schema() {
        assert_eq!(supported(KestraVersion::V1_3), 1);
        assert_eq!(supported(KestraVersion::V2_0), 2);
        assert_eq!(supported(KestraVersion::V2_1Dev), 2);
    }

    #[test]
    fn document_column_per_schema() {
        assert_eq!(document_column(V1), "value");
        assert_eq!(document_column(V2), "document");
    }

    #[test]
    fn plan_covers_every_case() {
        assert_eq!(plan(V1, None), Plan::Create { version: 1 });
        assert_eq!(plan(V2, None), Plan::Create { version: 2 });
        assert_eq!(plan(V1, Some(1)), Plan::UpToDate { version: 1 });
        assert_eq!(plan(V2, Some(2)), Plan::UpToDate { version: 2 });
        assert_eq!(plan(V2, Some(1)), Plan::Migrate { from: 1, to: 2 });
        assert_eq!(
            plan(V1, Some(2)),
            Plan::RefuseNewer {
                found: 2,
                supported: 1
            }
        );
        assert_eq!(
            plan(V2, Some(3)),
            Plan::RefuseNewer {
                found: 3,
                supported: 2
            }
        );
        assert_eq!(plan(V2, Some(0)), Plan::RefuseInvalid { found: 0 });
    }

    #[test]
    fn messages_name_both_versions() {
        let e = newer_schema_error(2, 1, "1.3.26");
        assert!(e.contains("version 2"), "{e}");
        assert!(e.contains("supports schema version 1"), "{e}");
        assert!(e.contains("1.3.26"), "{e}");
        assert_eq!(
            migrating_line(1, 2),
            "Migrating database schema from 1 to 2 (irreversible)"
        );
    }
}
