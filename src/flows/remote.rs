//! What the server holds and thinks of local flows: every flow of some namespaces read at once
//! (two requests a namespace: the list for revisions, the export for sources), and the server's
//! validation of local files, in concurrent batches, mapped back to their files and lines.

use std::collections::{BTreeSet, HashMap};

use futures_util::{StreamExt, stream};

use super::locate;
use super::plan::RemoteFlow;
use super::source::{parse_head, scan_head, split_documents};
use super::{FileProblem, LocalFlow};
use crate::error::Result;
use crate::kestra::{ApiError, KestraClient};

/// Kestra's validate route takes several documents; batches keep each request small.
const VALIDATE_BATCH: usize = 100;
/// Namespaces read (and validation batches sent) at once.
const READ_CONCURRENCY: usize = 8;

/// What the server said of local flows.
#[derive(Debug, Default)]
pub struct Validated {
    /// What it refuses, at the line of the key each is about when it can be found.
    pub problems: Vec<FileProblem>,
    /// Its warnings, infos and deprecations, `file:line: text`, to be said.
    pub warnings: Vec<String>,
}

/// Server-side validation of every flow, in concurrent batches: the problems mapped back to
/// their files (each document is its own multipart file, matched by name), and the server's
/// warnings for the caller to say.
pub async fn validate(client: &KestraClient, flows: &[&LocalFlow]) -> Result<Validated> {
    let batches: Vec<&[&LocalFlow]> = flows.chunks(VALIDATE_BATCH).collect();
    let results: Vec<std::result::Result<Vec<crate::kestra::model::ValidateResult>, ApiError>> =
        stream::iter(batches.iter().map(|batch| async move {
            let docs: Vec<&str> = batch.iter().map(|f| f.source.as_str()).collect();
            client.flows().validate(&docs).await
        }))
        .buffered(READ_CONCURRENCY)
        .collect()
        .await;
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    for (batch, result) in batches.iter().zip(results) {
        let result = result?;
        // In document order (matched by the file name of each multipart part).
        for (flow, entry) in batch.iter().zip(result.iter()) {
            if let Some(c) = entry
                .constraints
                .as_deref()
                .filter(|c| !c.trim().is_empty())
            {
                // Kestra names a key, not a line: found in the text when it can be.
                let line = locate::line_of(&flow.source, c.trim())
                    .map_or(flow.first_line, |l| flow.first_line + l - 1);
                problems.push(FileProblem {
                    file: flow.file.clone(),
                    line: Some(line),
                    column: None,
                    message: format!("Kestra: {}", c.trim().replace('\n', "; ")),
                });
            }
            for w in entry.warnings.iter().chain(entry.infos.iter()) {
                warnings.push(format!("{}:{}: {w}", flow.file, flow.first_line));
            }
            if !entry.deprecation_paths.is_empty() {
                warnings.push(format!(
                    "{}:{}: deprecated: {}",
                    flow.file,
                    flow.first_line,
                    entry.deprecation_paths.join(", ")
                ));
            }
        }
    }
    Ok(Validated { problems, warnings })
}

/// What the server holds in these namespaces: two requests per namespace (the list for
/// revisions, the export for sources), run concurrently.
pub async fn read_namespaces(
    client: &KestraClient,
    namespaces: &BTreeSet<String>,
) -> Result<Vec<RemoteFlow>> {
    // One budget for every namespace's export: read concurrently, they could otherwise hold
    // many times the memory one may.
    let budget = &crate::kestra::limits::Budget::new(crate::kestra::flows::MAX_EXPORTS);
    let reads: Vec<std::result::Result<Vec<RemoteFlow>, ApiError>> =
        stream::iter(namespaces.iter().map(|ns| async move {
            let (listed, exported) =
                tokio::try_join!(client.flows().list(ns), client.flows().export(ns, budget))?;
            let mut sources: HashMap<String, String> = HashMap::new();
            for (name, source) in exported {
                // The server's own sources: read off their top lines when they plainly say it
                // (parsing every exported flow was most of a large deploy's CPU).
                let id = split_documents(&source)
                    .first()
                    .and_then(|d| scan_head(d.text).or_else(|| parse_head(d.text, 1).ok()))
                    .filter(|h| h.namespace == *ns)
                    .map(|h| h.id)
                    .or_else(|| export_entry_id(&name, ns));
                if let Some(id) = id {
                    sources.insert(id, source);
                }
            }
            Ok(listed
                .into_iter()
                .filter(|f| f.deleted != Some(true) && f.namespace == *ns)
                .map(|f| RemoteFlow {
                    source: sources.remove(&f.id),
                    namespace: f.namespace,
                    id: f.id,
                    revision: f.revision,
                })
                .collect())
        }))
        .buffer_unordered(READ_CONCURRENCY)
        .collect()
        .await;
    let mut all = Vec::new();
    for r in reads {
        all.extend(r?);
    }
    Ok(all)
}

/// The flow id in an export entry's name, when the source itself could not be read: Kestra
/// 1.3.25 and 2.0 name entries `<namespace>-<id>.yml` (`FlowController.exportFlowsByQuery`);
/// `<namespace>.<id>.yml` is accepted too (pure).
pub fn export_entry_id(name: &str, namespace: &str) -> Option<String> {
    let stem = name.strip_suffix(".yml")?;
    [format!("{namespace}-"), format!("{namespace}.")]
        .iter()
        .find_map(|prefix| stem.strip_prefix(prefix.as_str()))
        .filter(|id| !id.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_entry_names_as_kestra_writes_them() {
        assert_eq!(
            export_entry_id("company.team-hello.yml", "company.team").as_deref(),
            Some("hello")
        );
        assert_eq!(
            export_entry_id("company.team.hello.yml", "company.team").as_deref(),
            Some("hello")
        );
        assert_eq!(
            export_entry_id("company.team-my-flow.yml", "company.team").as_deref(),
            Some("my-flow")
        );
        assert_eq!(export_entry_id("other-hello.yml", "company.team"), None);
        assert_eq!(export_entry_id("company.team-.yml", "company.team"), None);
        assert_eq!(
            export_entry_id("company.team-hello.yaml", "company.team"),
            None
        );
    }
}
