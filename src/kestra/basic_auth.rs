//! `POST /api/v1/{tenant}/basicAuth`: how a server whose Basic Auth credential was set up through
//! its UI or API (not its config file) changes it. Current servers require the current password
//! in the body as well as in the `Authorization` header, and refuse the call outright when the
//! credential comes from the config file (`isBasicAuthManagedByConfig` in `/api/v1/configs`).

use reqwest::Method;
use serde::Serialize;

use super::client::{Body, KestraClient, Request};
use super::error::ApiError;
use super::routes::tenant_base;
use crate::secret::Secret;

/// The body; `uid` is left out, as the UI's change-password form leaves it out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Change<'a> {
    username: &'a str,
    password: &'a str,
    current_password: &'a str,
}

/// The server's Basic Auth credential, borrowed from the client (`client.basic_auth()`).
#[derive(Clone, Copy)]
pub struct BasicAuth<'a> {
    client: &'a KestraClient,
}

impl KestraClient {
    /// The server's Basic Auth credential.
    pub fn basic_auth(&self) -> BasicAuth<'_> {
        BasicAuth { client: self }
    }
}

impl BasicAuth<'_> {
    /// Replaces the server's one Basic Auth credential (the username stays). Not idempotent from
    /// the client's side (after it succeeds, the same call is refused), so never retried blindly:
    /// a caller that loses the answer must find out which password works.
    pub async fn change(
        self,
        username: &str,
        new: &Secret,
        current: &Secret,
    ) -> Result<(), ApiError> {
        // A JSON object of strings: serialising it cannot fail, so no error path is hidden here.
        let body = serde_json::json!(Change {
            username,
            password: new.expose(),
            current_password: current.expose(),
        })
        .to_string()
        .into_bytes();
        let req = Request::with_body(
            Method::POST,
            format!("{}/basicAuth", tenant_base(self.client.tenant())),
            Body::Bytes("application/json", body),
            false,
        );
        self.client.send(&req).await.map(|_| ())
    }

    /// `GET /api/v1/basicAuthValidationErrors` (open to anyone, 1.3 and 2.0): why Kestra refused
    /// the credential of its configuration file at start-up, in its own words. Empty when it took
    /// it.
    /// Each line is bounded and free of control characters (the server is not trusted).
    pub async fn validation_errors(self) -> Result<Vec<String>, ApiError> {
        let errors: Vec<String> = self
            .client
            .json(&Request::get("/api/v1/basicAuthValidationErrors").anonymous())
            .await?;
        Ok(errors
            .iter()
            .take(10)
            .map(|e| super::problem::one_line(e))
            .collect())
    }
}
