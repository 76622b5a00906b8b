//! The in-memory mode: nothing is kept beyond the process (Kestra's `memory` repository type).

use std::sync::Arc;

use anyhow::Result;
use futures_util::future::{BoxFuture, FutureExt};
use serde_json::Value;

use super::{Backend, JdbcHealth, Snapshot};
use crate::execution::{Execution, LogEntry};
use crate::flow::FlowRevision;

#[derive(Debug, Default)]
pub struct MemoryBackend;

impl Backend for MemoryBackend {
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

    fn delete_file<'a>(&'a self, _uri: &'a str) -> BoxFuture<'a, Result<()>> {
        async { Ok(()) }.boxed()
    }

    fn delete_execution<'a>(&'a self, _id: &'a str, _logs: bool) -> BoxFuture<'a, Result<()>> {
        async { Ok(()) }.boxed()
    }

    fn save_setting<'a>(&'a self, _key: &'a str, _value: &'a Value) -> BoxFuture<'a, Result<()>> {
        async { Ok(()) }.boxed()
    }

    fn delete_setting<'a>(&'a self, _key: &'a str) -> BoxFuture<'a, Result<()>> {
        async { Ok(()) }.boxed()
    }

    fn load(&self) -> BoxFuture<'_, Result<Snapshot>> {
        async { Ok(Snapshot::default()) }.boxed()
    }

    fn health(&self) -> BoxFuture<'_, Option<JdbcHealth>> {
        async { None }.boxed()
    }
}
