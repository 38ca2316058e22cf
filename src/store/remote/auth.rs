//! One challenge handler for every request: anonymous, Basic, and Bearer tokens per scope
//! (from a user name and password, anonymously, or from an identity token by the OAuth2
//! refresh-token grant), cached for as long as the token service says they live.
//!
//! Credentials go only to the registry's own origin and to its token realm; an `http://` realm
//! is refused for an HTTPS registry (go-containerregistry's rule).
//!
//! This layer sends through the HTTP layer below it and knows nothing of the requests above:
//! they come with the token scopes they need.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, StatusCode};

use super::address::Scheme;
use super::body::{Body, Response};
use super::error::clean;
use super::error::Action;
use super::http::{origin_of, Http};
use crate::auth::Credential;
use crate::limits::SMALL_BODY_LIMIT;
use crate::store::{AuthFailure, StoreError};

/// How the registry wants to be authenticated, learned from `GET /v2/` or a 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// No authentication asked.
    Open,
    /// HTTP Basic.
    Basic,
    /// Bearer tokens from `realm`.
    Bearer {
        /// Token service URL.
        realm: String,
        /// `service` parameter.
        service: Option<String>,
        /// `scope` the challenge named, if any.
        scope: Option<String>,
    },
}

impl Challenge {
    /// Parses a `WWW-Authenticate` header (Bearer preferred over Basic).
    pub fn parse(header: &str) -> Option<Challenge> {
        let challenges = http_auth::parse_challenges(header).ok()?;
        let param = |c: &http_auth::ChallengeRef<'_>, name: &str| {
            c.params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_unescaped())
        };
        if let Some(c) = challenges
            .iter()
            .find(|c| c.scheme.eq_ignore_ascii_case("bearer"))
        {
            return Some(Challenge::Bearer {
                realm: param(c, "realm")?,
                service: param(c, "service"),
                scope: param(c, "scope"),
            });
        }
        challenges
            .iter()
            .any(|c| c.scheme.eq_ignore_ascii_case("basic"))
            .then_some(Challenge::Basic)
    }
}

struct Token {
    header: HeaderValue,
    expires: Instant,
}

/// Authentication state of one registry.
pub(super) struct Auth {
    credential: Credential,
    challenge: tokio::sync::Mutex<Option<Challenge>>,
    tokens: Mutex<HashMap<String, Token>>,
}

impl Auth {
    pub(super) fn new(credential: Credential) -> Self {
        Auth {
            credential,
            challenge: tokio::sync::Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Sends a request needing `scopes` with the credentials the registry wants, renewing
    /// them once on a 401 when the body can be sent again (merging in the scope the new
    /// challenge names). Any other status comes back as it is.
    pub(super) async fn send(
        &self,
        http: &Http,
        method: &Method,
        url: &str,
        headers: &HeaderMap,
        body: Body<'_>,
        mut scopes: Vec<String>,
    ) -> Result<Response, StoreError> {
        let spare = body.again();
        let auth = self.header(http, &scopes).await?;
        let resp = http
            .send(
                method,
                url,
                headers,
                body,
                auth.as_ref().map(|a| (a, http.origin())),
            )
            .await?;
        let (StatusCode::UNAUTHORIZED, Some(body)) = (resp.status, spare) else {
            return Ok(resp);
        };
        if let Some(extra) = self.unauthorized(&resp.headers, &scopes).await {
            for scope in extra.split(' ') {
                if !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_string());
                }
            }
        }
        tracing::debug!("{method} {url}: 401, renewing the credentials once");
        let auth = self.header(http, &scopes).await?;
        http.send(
            method,
            url,
            headers,
            body,
            auth.as_ref().map(|a| (a, http.origin())),
        )
        .await
    }

    /// The challenge, asking `GET /v2/` the first time.
    pub(super) async fn challenge(&self, http: &Http) -> Result<Challenge, StoreError> {
        let mut known = self.challenge.lock().await;
        if let Some(c) = &*known {
            return Ok(c.clone());
        }
        let resp = http
            .send(
                &Method::GET,
                &http.v2_url(),
                &HeaderMap::new(),
                Body::Empty,
                None,
            )
            .await?;
        let challenge = match resp.status {
            StatusCode::UNAUTHORIZED => resp
                .header(WWW_AUTHENTICATE.as_str())
                .and_then(Challenge::parse)
                .unwrap_or(Challenge::Basic),
            _ => Challenge::Open,
        };
        tracing::debug!("{} authentication: {challenge:?}", http.host());
        *known = Some(challenge.clone());
        Ok(challenge)
    }

    /// Learns from a 401: the challenge it carries replaces the known one and any cached token
    /// for `scopes` is dropped. Returns the scope the challenge asks for, to merge in.
    async fn unauthorized(&self, headers: &HeaderMap, scopes: &[String]) -> Option<String> {
        self.forget(scopes);
        let parsed = headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(Challenge::parse)?;
        let scope = match &parsed {
            Challenge::Bearer { scope, .. } => scope.clone(),
            _ => None,
        };
        *self.challenge.lock().await = Some(parsed);
        scope
    }

    fn forget(&self, scopes: &[String]) {
        if let Ok(mut tokens) = self.tokens.lock() {
            tokens.remove(&scope_key(scopes));
        }
    }

    /// The Authorization header for a request needing `scopes`, if the registry wants one.
    async fn header(
        &self,
        http: &Http,
        scopes: &[String],
    ) -> Result<Option<HeaderValue>, StoreError> {
        match self.challenge(http).await? {
            Challenge::Open => Ok(None),
            Challenge::Basic if matches!(self.credential, Credential::IdentityToken(_)) => {
                Err(StoreError::Unauthorized {
                    location: http.host().to_string(),
                    host: http.host().to_string(),
                    reason: AuthFailure::IdentityTokenWithoutTokenAuth,
                })
            }
            Challenge::Basic => Ok(self.basic()),
            Challenge::Bearer { realm, service, .. } => {
                let key = scope_key(scopes);
                if let Some(token) = self.tokens.lock().ok().and_then(|tokens| {
                    tokens
                        .get(&key)
                        .filter(|t| t.expires > Instant::now())
                        .map(|t| t.header.clone())
                }) {
                    return Ok(Some(token));
                }
                let token = self
                    .fetch_token(http, &realm, service.as_deref(), scopes)
                    .await?;
                let header = token.header.clone();
                if let Ok(mut tokens) = self.tokens.lock() {
                    tokens.insert(key, token);
                }
                Ok(Some(header))
            }
        }
    }

    fn basic(&self) -> Option<HeaderValue> {
        match &self.credential {
            Credential::Basic { username, password } => {
                let raw = format!("{username}:{}", password.expose());
                sensitive(&format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                ))
            }
            _ => None,
        }
    }

    async fn fetch_token(
        &self,
        http: &Http,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<Token, StoreError> {
        let host = http.host();
        let refuse = |reason: AuthFailure| StoreError::Unauthorized {
            location: host.to_string(),
            host: host.to_string(),
            reason,
        };
        let realm_url = url::Url::parse(realm).map_err(|_| {
            refuse(AuthFailure::TokenService(format!(
                "the registry named an unusable token realm {:?}",
                clean(realm, 200)
            )))
        })?;
        match realm_url.scheme() {
            "https" => {}
            "http" if http.scheme() == Scheme::Http => {}
            "http" => {
                return Err(refuse(AuthFailure::TokenService(format!(
                    "the registry sends clients to a plain-HTTP token service ({}) although it uses HTTPS; packreg sends no credentials there",
                    clean(realm, 200)
                ))))
            }
            _ => {
                return Err(refuse(AuthFailure::TokenService(format!(
                    "unusable token realm {:?}",
                    clean(realm, 200)
                ))))
            }
        }
        let mut headers = HeaderMap::new();
        let (method, url, body, basic) = match &self.credential {
            Credential::IdentityToken(refresh) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                form.append_pair("grant_type", "refresh_token")
                    .append_pair("refresh_token", refresh.expose())
                    .append_pair("client_id", "packreg")
                    .append_pair("scope", &scopes.join(" "));
                if let Some(service) = service {
                    form.append_pair("service", service);
                }
                headers.insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                );
                let body = Body::Bytes(form.finish().into());
                (Method::POST, realm_url.to_string(), body, None)
            }
            _ => {
                let mut url = realm_url;
                {
                    let mut query = url.query_pairs_mut();
                    if let Some(service) = service {
                        query.append_pair("service", service);
                    }
                    for scope in scopes {
                        query.append_pair("scope", scope);
                    }
                }
                (Method::GET, url.to_string(), Body::Empty, self.basic())
            }
        };
        // A token request's credentials are for the realm it was made for, and nowhere else.
        let realm_origin = origin_of(&url);
        let resp = http
            .send(
                &method,
                &url,
                &headers,
                body,
                basic.as_ref().map(|b| (b, realm_origin.as_str())),
            )
            .await?;
        match resp.status {
            s if s.is_success() => {}
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(refuse(AuthFailure::TokenRefused {
                    status: resp.status.as_u16(),
                }))
            }
            _ => return Err(resp.error(host, Action::TokenRequest).await),
        }
        let body = resp.bytes(SMALL_BODY_LIMIT, host, "token").await?;
        #[derive(serde::Deserialize)]
        struct TokenBody {
            token: Option<String>,
            access_token: Option<String>,
            expires_in: Option<u64>,
        }
        let parsed: TokenBody = serde_json::from_slice(&body).map_err(|_| {
            refuse(AuthFailure::TokenService(
                "the token service answered something that is not a token".into(),
            ))
        })?;
        let token = parsed
            .token
            .or(parsed.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                refuse(AuthFailure::TokenService(
                    "the token service gave no token".into(),
                ))
            })?;
        let header = sensitive(&format!("Bearer {token}")).ok_or_else(|| {
            refuse(AuthFailure::TokenService(
                "the token service gave a token that is not header text".into(),
            ))
        })?;
        // Token services default to 60 s; renew a little early.
        let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(60));
        Ok(Token {
            header,
            expires: Instant::now() + lifetime.saturating_sub(lifetime / 10),
        })
    }
}

fn scope_key(scopes: &[String]) -> String {
    scopes
        .iter()
        .map(String::as_str)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(" ")
}

fn sensitive(text: &str) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(text).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            Challenge::parse(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a:pull".into()),
            })
        );
        assert_eq!(
            Challenge::parse(r#"Basic realm="x""#),
            Some(Challenge::Basic)
        );
        assert_eq!(Challenge::parse("garbage"), None);
        assert_eq!(
            scope_key(&["b".into(), "a".into(), "b".into()]),
            "a b".to_string()
        );
    }
}
