//! State of the emulated Kestra: flows (all revisions), executions (with a start-date index so
//! paging over 100,000 executions does not sort per request), logs and uploaded files.
//!
//! Reads are always served from the in-memory indexes. Every mutation is also handed to a
//! [`Backend`]: [`memory::MemoryBackend`] keeps nothing else (state dies with the process),
//! [`postgres::PostgresBackend`] writes it to real tables so it survives a restart and is
//! reloaded at start-up. Settings (Kestra's `SettingRepository`: key → JSON value, e.g. the Basic
//! Auth credential set up through the API) follow the same path.

pub mod memory;
pub mod postgres;
pub mod schema;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use anyhow::Result;
use futures_util::future::BoxFuture;
use serde_json::Value;
use tokio::sync::broadcast;

use crate::execution::{Execution, LogEntry};
use crate::flow::FlowRevision;

/// What a backend reports for `/health`'s `jdbc` indicator.
#[derive(Debug, Clone)]
pub struct JdbcHealth {
    pub url: String,
    pub up: bool,
    pub database: String,
    pub version: String,
    pub error: Option<String>,
}

/// Everything a backend holds, loaded once at start.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub flows: Vec<FlowRevision>,
    pub executions: Vec<Execution>,
    pub logs: Vec<LogEntry>,
    pub files: Vec<(String, Vec<u8>)>,
    pub settings: Vec<(String, Value)>,
}

/// Durable storage behind the in-memory indexes.
pub trait Backend: Send + Sync {
    fn save_flow<'a>(&'a self, f: &'a FlowRevision) -> BoxFuture<'a, Result<()>>;
    fn save_executions<'a>(&'a self, e: &'a [Arc<Execution>]) -> BoxFuture<'a, Result<()>>;
    fn append_logs<'a>(&'a self, l: &'a [LogEntry]) -> BoxFuture<'a, Result<()>>;
    fn save_file<'a>(&'a self, uri: &'a str, bytes: &'a [u8]) -> BoxFuture<'a, Result<()>>;
    fn delete_file<'a>(&'a self, uri: &'a str) -> BoxFuture<'a, Result<()>>;
    /// Remove an execution, and its logs when `logs`.
    fn delete_execution<'a>(&'a self, id: &'a str, logs: bool) -> BoxFuture<'a, Result<()>>;
    /// Insert or replace one setting.
    fn save_setting<'a>(&'a self, key: &'a str, value: &'a Value) -> BoxFuture<'a, Result<()>>;
    fn delete_setting<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<()>>;
    fn load(&self) -> BoxFuture<'_, Result<Snapshot>>;
    /// `None` when there is no database at all (in-memory mode).
    fn health(&self) -> BoxFuture<'_, Option<JdbcHealth>>;
}

/// Change notifications for SSE followers and `wait=true`.
#[derive(Debug, Clone)]
pub enum Event {
    Execution(Arc<Execution>),
    Log(Arc<LogEntry>),
}

#[derive(Default)]
struct Data {
    flows: BTreeMap<(String, String), Vec<FlowRevision>>,
    executions: HashMap<String, Arc<Execution>>,
    /// (start date ms, id): the default sort of execution search, kept ordered.
    by_start: BTreeSet<(i64, String)>,
    logs: HashMap<String, Vec<LogEntry>>,
    files: HashMap<String, Vec<u8>>,
    settings: HashMap<String, Value>,
}

#[derive(Clone)]
pub struct Store {
    data: Arc<RwLock<Data>>,
    backend: Arc<dyn Backend>,
    events: broadcast::Sender<Event>,
}

/// Why a flow write was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowWriteError {
    AlreadyExists,
    NotFound,
}

impl Store {
    pub async fn open(backend: Arc<dyn Backend>) -> Result<Self> {
        let snap = backend.load().await?;
        let mut data = Data::default();
        for f in snap.flows {
            data.flows.entry(f.key()).or_default().push(f);
        }
        for revs in data.flows.values_mut() {
            revs.sort_by_key(|r| r.revision);
        }
        for e in snap.executions {
            data.by_start.insert((e.start_ms(), e.id.clone()));
            data.executions.insert(e.id.clone(), Arc::new(e));
        }
        for l in snap.logs {
            data.logs.entry(l.execution_id.clone()).or_default().push(l);
        }
        data.files = snap.files.into_iter().collect();
        data.settings = snap.settings.into_iter().collect();
        let (events, _) = broadcast::channel(4096);
        Ok(Store {
            data: Arc::new(RwLock::new(data)),
            backend,
            events,
        })
    }

    fn read(&self) -> RwLockReadGuard<'_, Data> {
        self.data
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Data> {
        self.data
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub async fn health(&self) -> Option<JdbcHealth> {
        self.backend.health().await
    }

    // ---- flows -------------------------------------------------------------------------

    /// Latest revision; a deleted latest revision only when `allow_deleted`.
    pub fn flow(
        &self,
        ns: &str,
        id: &str,
        revision: Option<i32>,
        allow_deleted: bool,
    ) -> Option<FlowRevision> {
        let d = self.read();
        let revs = d.flows.get(&(ns.to_string(), id.to_string()))?;
        match revision {
            Some(r) => revs.iter().find(|f| f.revision == r).cloned(),
            None => {
                let last = revs.last()?;
                (allow_deleted || !last.deleted).then(|| last.clone())
            }
        }
    }

    pub fn flow_revisions(&self, ns: &str, id: &str, allow_deleted: bool) -> Vec<FlowRevision> {
        let d = self.read();
        d.flows
            .get(&(ns.to_string(), id.to_string()))
            .map(|revs| {
                revs.iter()
                    .filter(|r| allow_deleted || !r.deleted)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Latest non-deleted revision of every flow, ordered by namespace then id.
    pub fn latest_flows(&self) -> Vec<FlowRevision> {
        let d = self.read();
        d.flows
            .values()
            .filter_map(|revs| revs.last())
            .filter(|f| !f.deleted)
            .cloned()
            .collect()
    }

    /// Create: refused if a live flow with that id exists; the revision continues after any
    /// deleted history, as Kestra's repository numbers it.
    pub async fn create_flow(
        &self,
        mut f: FlowRevision,
    ) -> Result<Result<FlowRevision, FlowWriteError>> {
        {
            let mut d = self.write();
            let revs = d.flows.entry(f.key()).or_default();
            if revs.last().is_some_and(|l| !l.deleted) {
                return Ok(Err(FlowWriteError::AlreadyExists));
            }
            f.revision = revs.last().map(|l| l.revision + 1).unwrap_or(1);
            revs.push(f.clone());
        }
        self.backend.save_flow(&f).await?;
        Ok(Ok(f))
    }

    /// Update: an identical source returns the current revision untouched.
    pub async fn update_flow(
        &self,
        mut f: FlowRevision,
    ) -> Result<Result<(FlowRevision, bool), FlowWriteError>> {
        {
            let mut d = self.write();
            let Some(revs) = d.flows.get_mut(&f.key()) else {
                return Ok(Err(FlowWriteError::NotFound));
            };
            let Some(last) = revs.last() else {
                return Ok(Err(FlowWriteError::NotFound));
            };
            if last.deleted {
                return Ok(Err(FlowWriteError::NotFound));
            }
            if last.same_content(&f.source) && last.draft == f.draft {
                return Ok(Ok((last.clone(), false)));
            }
            f.revision = last.revision + 1;
            revs.push(f.clone());
        }
        self.backend.save_flow(&f).await?;
        Ok(Ok((f, true)))
    }

    /// Soft delete: a new revision marked deleted, as `Flow.toDeleted()` does.
    pub async fn delete_flow(
        &self,
        ns: &str,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<FlowRevision>> {
        let deleted = {
            let mut d = self.write();
            let Some(revs) = d.flows.get_mut(&(ns.to_string(), id.to_string())) else {
                return Ok(None);
            };
            let Some(last) = revs.last() else {
                return Ok(None);
            };
            if last.deleted {
                return Ok(None);
            }
            let mut del = last.clone();
            del.revision += 1;
            del.deleted = true;
            del.updated_ms = now_ms;
            revs.push(del.clone());
            del
        };
        self.backend.save_flow(&deleted).await?;
        Ok(Some(deleted))
    }

    pub fn distinct_namespaces(&self) -> Vec<String> {
        let mut set = BTreeSet::new();
        for f in self.latest_flows() {
            set.insert(f.namespace);
        }
        set.into_iter().collect()
    }

    // ---- executions --------------------------------------------------------------------

    pub fn execution(&self, id: &str) -> Option<Arc<Execution>> {
        self.read().executions.get(id).cloned()
    }

    /// Insert or replace executions, then persist and notify followers.
    pub async fn put_executions(&self, execs: Vec<Execution>) -> Result<()> {
        self.put_executions_inner(execs, true).await
    }

    /// Bulk insert without notifying followers (seeding).
    pub async fn put_executions_quiet(&self, execs: Vec<Execution>) -> Result<()> {
        self.put_executions_inner(execs, false).await
    }

    async fn put_executions_inner(&self, execs: Vec<Execution>, notify: bool) -> Result<()> {
        let arcs: Vec<Arc<Execution>> = execs.into_iter().map(Arc::new).collect();
        {
            let mut d = self.write();
            for e in &arcs {
                if let Some(old) = d.executions.get(&e.id) {
                    let key = (old.start_ms(), old.id.clone());
                    d.by_start.remove(&key);
                }
                d.by_start.insert((e.start_ms(), e.id.clone()));
                d.executions.insert(e.id.clone(), e.clone());
            }
        }
        self.backend.save_executions(&arcs).await?;
        if !notify {
            return Ok(());
        }
        for e in arcs {
            // No receiver is fine: nobody is following.
            let _ = self.events.send(Event::Execution(e));
        }
        Ok(())
    }

    pub async fn put_execution(&self, e: Execution) -> Result<()> {
        self.put_executions(vec![e]).await
    }

    /// `ExecutionService.delete`: the execution goes, its logs too when `logs`.
    pub async fn delete_execution(&self, id: &str, logs: bool) -> Result<()> {
        self.backend.delete_execution(id, logs).await?;
        let mut d = self.write();
        if let Some(e) = d.executions.remove(id) {
            d.by_start.remove(&(e.start_ms(), id.to_string()));
        }
        if logs {
            d.logs.remove(id);
        }
        Ok(())
    }

    pub fn execution_count(&self) -> usize {
        self.read().executions.len()
    }

    /// Page over executions matching `keep`, newest first or oldest first by start date,
    /// walking the ordered index; `total` counts every match.
    pub fn executions_by_start(
        &self,
        descending: bool,
        offset: usize,
        limit: usize,
        keep: &dyn Fn(&Execution) -> bool,
    ) -> (Vec<Arc<Execution>>, usize) {
        let d = self.read();
        let mut total = 0usize;
        let mut page = Vec::new();
        let mut visit = |key: &(i64, String)| {
            if let Some(e) = d.executions.get(&key.1).filter(|e| keep(e)) {
                if total >= offset && page.len() < limit {
                    page.push(e.clone());
                }
                total += 1;
            }
        };
        if descending {
            d.by_start.iter().rev().for_each(&mut visit);
        } else {
            d.by_start.iter().for_each(&mut visit);
        }
        (page, total)
    }

    /// All executions matching `keep` (for sorts the index does not cover).
    pub fn executions_matching(&self, keep: &dyn Fn(&Execution) -> bool) -> Vec<Arc<Execution>> {
        let d = self.read();
        d.executions.values().filter(|e| keep(e)).cloned().collect()
    }

    // ---- logs & files ------------------------------------------------------------------

    pub async fn append_logs(&self, logs: Vec<LogEntry>) -> Result<()> {
        {
            let mut d = self.write();
            for l in &logs {
                d.logs
                    .entry(l.execution_id.clone())
                    .or_default()
                    .push(l.clone());
            }
        }
        self.backend.append_logs(&logs).await?;
        for l in logs {
            let _ = self.events.send(Event::Log(Arc::new(l)));
        }
        Ok(())
    }

    pub fn logs(&self, execution_id: &str) -> Vec<LogEntry> {
        self.read()
            .logs
            .get(execution_id)
            .cloned()
            .unwrap_or_default()
    }

    pub async fn put_file(&self, uri: &str, bytes: Vec<u8>) -> Result<()> {
        self.backend.save_file(uri, &bytes).await?;
        self.write().files.insert(uri.to_string(), bytes);
        Ok(())
    }

    pub fn file(&self, uri: &str) -> Option<Vec<u8>> {
        self.read().files.get(uri).cloned()
    }

    /// Remove a stored file; `false` when there was none.
    pub async fn delete_file(&self, uri: &str) -> Result<bool> {
        if !self.read().files.contains_key(uri) {
            return Ok(false);
        }
        self.backend.delete_file(uri).await?;
        Ok(self.write().files.remove(uri).is_some())
    }

    /// Every stored file whose URI starts with `prefix`, in URI order.
    pub fn files_under(&self, prefix: &str) -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = self
            .read()
            .files
            .iter()
            .filter(|(uri, _)| uri.starts_with(prefix))
            .map(|(uri, bytes)| (uri.clone(), bytes.clone()))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    // ---- settings ----------------------------------------------------------------------

    pub fn setting(&self, key: &str) -> Option<Value> {
        self.read().settings.get(key).cloned()
    }

    /// Persist first: a setting the database refused must not be served (a credential that
    /// would vanish at the next restart).
    pub async fn put_setting(&self, key: &str, value: Value) -> Result<()> {
        self.backend.save_setting(key, &value).await?;
        self.write().settings.insert(key.to_string(), value);
        Ok(())
    }

    pub async fn delete_setting(&self, key: &str) -> Result<()> {
        self.backend.delete_setting(key).await?;
        self.write().settings.remove(key);
        Ok(())
    }
}
