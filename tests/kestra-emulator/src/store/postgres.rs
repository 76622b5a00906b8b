//! Postgres persistence (tokio-postgres, no TLS: the database sits in the same Docker network).

use std::sync::Arc;

use anyhow::Result;
use futures_util::future::{BoxFuture, FutureExt};

use super::{Backend, JdbcHealth, Snapshot};
use crate::config::Datasource;
use crate::execution::{Execution, LogEntry};
use crate::flow::FlowRevision;

pub struct PostgresBackend;

impl PostgresBackend {
    pub async fn connect(_ds: &Datasource) -> Result<Self> {
        anyhow::bail!("postgres mode not implemented yet")
    }
}

impl Backend for PostgresBackend {
    fn save_flow<'a>(&'a self, _f: &'a FlowRevision) -> BoxFuture<'a, Result<()>> {
        async { Ok(()) }.boxed()
    }
    fn save_executions<'a>(&'a self, _e: &'a [Arc<Execution>]) -> BoxFuture<'a, Result<()>> {
        async { Ok(()) }.boxed()
    }
    fn append_logs<'a>(&'a self, _l: &'a [LogEntry]) -> BoxFuture<'a, Result<()>> {
        async { Ok(()) }.boxed()
    }
    fn save_file<'a>(&'a self, _uri: &'a str, _bytes: &'a [u8]) -> BoxFuture<'a, Result<()>> {
        async { Ok(()) }.boxed()
    }
    fn load(&self) -> BoxFuture<'_, Result<Snapshot>> {
        async { Ok(Snapshot::default()) }.boxed()
    }
    fn health(&self) -> BoxFuture<'_, Option<JdbcHealth>> {
        async { None }.boxed()
    }
}
