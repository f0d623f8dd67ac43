//! Token-endpoint calls shared by providers that follow RFC 6749 closely enough.
//!
//! PKCE pairs and `state` values come from the `oauth2` crate (reviewed randomness and S256). The
//! token calls themselves are ours: providers deviate from the RFC in ways the crate's typed
//! client fights (Strava's `expires_at` and non-RFC error bodies, Polar's token without refresh,
//! COROS' result codes inside HTTP 200), and they must go through the shared HTTP policy
//! (retries, call counting) like every other request.

use super::http::{Call, Http, Response};
use super::{ClientAuth, ClientCredentials, TokenGrant};
use crate::secrets::Sensitive;
use crate::{Error, Result};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Deserialize;
use url::Url;

/// A fresh PKCE S256 pair: (challenge, verifier).
pub fn pkce_pair() -> (String, Sensitive<String>) {
    let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
    (
        challenge.as_str().to_owned(),
        Sensitive::new(verifier.secret().clone()),
    )
}

/// A fresh, unguessable `state` value.
pub fn new_state() -> String {
    oauth2::CsrfToken::new_random().secret().clone()
}

/// An authorization-code exchange: the code, and what the provider wants with it.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    /// The code from the redirect.
    pub code: &'a str,
    /// The redirect URI, for providers that check it again at the token call.
    pub redirect_uri: Option<&'a str>,
    /// The PKCE verifier, for PKCE flows.
    pub verifier: Option<&'a Sensitive<String>>,
}

/// Swap an authorization code for tokens.
pub async fn exchange(
    http: &Http,
    call: &Call<'_>,
    url: &Url,
    creds: &ClientCredentials,
    auth: ClientAuth,
    request: &Exchange<'_>,
) -> Result<TokenGrant> {
    let mut form = vec![("grant_type", "authorization_code"), ("code", request.code)];
    if let Some(redirect_uri) = request.redirect_uri {
        form.push(("redirect_uri", redirect_uri));
    }
    if let Some(verifier) = request.verifier {
        form.push(("code_verifier", verifier.expose().as_str()));
    }
    token_request(http, call, url, creds, auth, &form).await
}

/// Swap a refresh token for new tokens.
pub async fn refresh(
    http: &Http,
    call: &Call<'_>,
    url: &Url,
    creds: &ClientCredentials,
    auth: ClientAuth,
    refresh_token: &Sensitive<String>,
) -> Result<TokenGrant> {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.expose().as_str()),
    ];
    token_request(http, call, url, creds, auth, &form).await
}

/// RFC 6749's token response; the camelCase names are accepted too (COROS's casing is reported
/// both ways by integrators and is unverified: both are read rather than one guessed).
#[derive(Deserialize)]
struct TokenBody {
    #[serde(alias = "accessToken")]
    access_token: String,
    #[serde(alias = "refreshToken")]
    refresh_token: Option<String>,
    #[serde(alias = "expiresIn")]
    expires_in: Option<i64>,
    expires_at: Option<i64>,
    scope: Option<String>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// POST a token request (`grant_type` and its fields in `form`) and read the standard fields.
/// A 400/401 answer means the grant or the client was refused: the former needs the athlete to
/// connect again, the latter is a configuration problem, and the message says which.
async fn token_request(
    http: &Http,
    call: &Call<'_>,
    url: &Url,
    creds: &ClientCredentials,
    auth: ClientAuth,
    form: &[(&str, &str)],
) -> Result<TokenGrant> {
    let provider = http.provider();
    let secret = creds.client_secret.as_ref().map(|s| s.expose().as_str());
    let response = http
        .send(call, |client| {
            let mut fields: Vec<(&str, &str)> = form.to_vec();
            let request = client
                .post(url.clone())
                .header("Accept", "application/json");
            match auth {
                ClientAuth::Basic => {
                    return request.basic_auth(&creds.client_id, secret).form(&fields);
                }
                ClientAuth::SecretInBody => {
                    fields.push(("client_id", &creds.client_id));
                    if let Some(secret) = secret {
                        fields.push(("client_secret", secret));
                    }
                }
                ClientAuth::PublicPkce => {
                    // PKCE secures the exchange; a secret, where one is configured, still goes.
                    fields.push(("client_id", &creds.client_id));
                    if let Some(secret) = secret {
                        fields.push(("client_secret", secret));
                    }
                }
            }
            request.form(&fields)
        })
        .await?;
    if !response.status.is_success() {
        return Err(token_error(http, &response, call.clock.now()));
    }
    let body: TokenBody = parse_token_body(provider, &response.body)?;
    let now = call.clock.now();
    Ok(TokenGrant {
        access_token: Sensitive::new(body.access_token),
        refresh_token: body.refresh_token.map(Sensitive::new),
        expires_at: expiry(now, body.expires_at, body.expires_in),
        scopes: body.scope.map(|s| split_scope(&s)),
        extra: body.extra,
    })
}

/// What a refused token request means, without quoting its body: a token endpoint may echo the
/// code or refresh token it was sent, and this message is stored and shown. Only RFC 6749's
/// `error` code (a short word) is kept.
fn token_error(http: &Http, response: &Response, now: DateTime<Utc>) -> Error {
    let provider = http.provider();
    let status = response.status.as_u16();
    let code = oauth_error_code(&response.body);
    let said = code
        .as_deref()
        .map_or_else(String::new, |c| format!(" ({c})"));
    if status == 400 || status == 401 {
        let client_refused = code.as_deref() == Some("invalid_client")
            || code.as_deref() == Some("unauthorized_client")
            || names_client_field(&response.body);
        if client_refused {
            return Error::Provider {
                provider,
                status: Some(status),
                message: format!("the API credentials (client id/secret) were refused{said}"),
            };
        }
        return Error::NeedsReauth {
            provider,
            reason: format!("the provider refused the sign-in grant{said}"),
        };
    }
    if status == 429 {
        // Retry-After in seconds where given (bounded to a day), else a minute.
        let wait = response
            .headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<i64>().ok())
            .map_or(60, |s| s.clamp(1, 86_400));
        return Error::RateLimited {
            provider,
            until: now + chrono::Duration::seconds(wait),
        };
    }
    Error::Provider {
        provider,
        status: Some(status),
        message: format!("the token endpoint answered {status}{said}"),
    }
}

/// Whether a non-RFC error body blames the client id or secret (Strava:
/// `{"errors": [{"field": "client_id", "code": "invalid"}]}`).
fn names_client_field(body: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    value
        .get("errors")
        .and_then(|e| e.as_array())
        .is_some_and(|errors| {
            errors.iter().any(|e| {
                matches!(
                    e.get("field").and_then(|f| f.as_str()),
                    Some("client_id" | "client_secret")
                )
            })
        })
}

/// RFC 6749 5.2's `error` field, if the body is JSON and it is a plain short word.
fn oauth_error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let code = value.get("error")?.as_str()?;
    (code.len() <= 40 && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| code.to_owned())
}

/// Expiry from `expires_at` (epoch seconds, preferred: no clock skew) or `expires_in`.
fn expiry(
    now: DateTime<Utc>,
    expires_at: Option<i64>,
    expires_in: Option<i64>,
) -> Option<DateTime<Utc>> {
    // Provider numbers: an expiry that cannot be represented is no expiry we can believe.
    expires_at
        .and_then(|at| Utc.timestamp_opt(at, 0).single())
        .or_else(|| {
            expires_in
                .and_then(Duration::try_seconds)
                .and_then(|d| now.checked_add_signed(d))
        })
}

/// Split a scope string on spaces or commas (Strava uses commas, the RFC spaces).
pub fn split_scope(scope: &str) -> Vec<String> {
    scope
        .split([' ', ','])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parse a token answer. Its body is never quoted in the error: a half-sent answer may hold a
/// token, and errors reach logs and `sync_history`.
fn parse_token_body(provider: crate::domain::ProviderKind, body: &[u8]) -> Result<TokenBody> {
    serde_json::from_slice(body).map_err(|e| Error::Provider {
        provider,
        status: None,
        message: format!(
            "malformed token response ({} bytes): {}",
            body.len(),
            e.classify_name()
        ),
    })
}

/// A serde_json error's category, without the input it was reading.
trait Classified {
    fn classify_name(&self) -> &'static str;
}

impl Classified for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "missing or mistyped fields",
            serde_json::error::Category::Eof => "cut short",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ProviderKind;

    #[test]
    fn pkce_challenge_is_the_s256_of_its_verifier() {
        let (challenge, verifier) = pkce_pair();
        let recomputed = oauth2::PkceCodeChallenge::from_code_verifier_sha256(
            &oauth2::PkceCodeVerifier::new(verifier.expose().clone()),
        );
        assert_eq!(challenge, recomputed.as_str());
        assert_ne!(pkce_pair().0, challenge, "every flow gets a new pair");
    }

    fn http() -> Http {
        Http::new(
            reqwest::Client::new(),
            ProviderKind::Strava,
            crate::config::RetryPolicy::default(),
            |_, _| None,
        )
    }

    fn answer(status: u16, headers: &[(&'static str, &str)], body: &str) -> Response {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        Response {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_429_from_the_token_endpoint_waits_for_retry_after_or_a_minute() {
        let now = Utc.timestamp_opt(1_780_000_000, 0).unwrap();
        let until = |r: &Response| match token_error(&http(), r, now) {
            Error::RateLimited { until, .. } => until,
            other => panic!("{other:?}"),
        };
        // It said "continues at -262143-01-01" (the minimum date) before.
        assert_eq!(
            until(&answer(429, &[], "")),
            now + chrono::Duration::seconds(60)
        );
        assert_eq!(
            until(&answer(429, &[("retry-after", "120")], "")),
            now + chrono::Duration::seconds(120)
        );
        assert_eq!(
            until(&answer(429, &[("retry-after", "99999999999")], "")),
            now + chrono::Duration::days(1),
            "absurd headers are bounded"
        );
    }

    #[test]
    fn a_refused_token_request_never_quotes_the_body() {
        let now = Utc.timestamp_opt(1_780_000_000, 0).unwrap();
        let echo =
            r#"{"error":"invalid_grant","error_description":"refresh_token sbx-rt-42 revoked"}"#;
        let refused = token_error(&http(), &answer(400, &[], echo), now).to_string();
        assert!(refused.contains("invalid_grant"), "{refused}");
        assert!(
            !refused.contains("sbx-rt-42"),
            "the body is not quoted: {refused}"
        );
        let strava = r#"{"message":"Bad Request","errors":[{"resource":"Application","field":"client_id","code":"invalid"}]}"#;
        let client = token_error(&http(), &answer(400, &[], strava), now).to_string();
        assert!(client.contains("API credentials"), "{client}");
        let odd = r#"{"error":"<script>alert(1)</script> and a token sbx-at-1"}"#;
        let odd = token_error(&http(), &answer(401, &[], odd), now).to_string();
        assert!(
            !odd.contains("sbx-at-1") && !odd.contains("script"),
            "{odd}"
        );
        let server =
            token_error(&http(), &answer(503, &[], "token sbx-at-7 broke"), now).to_string();
        assert!(!server.contains("sbx-at-7"), "{server}");
    }

    #[test]
    fn a_token_response_is_read_in_either_casing() {
        let snake = parse_token_body(
            ProviderKind::Coros,
            br#"{"access_token":"a","refresh_token":"r","expires_in":30,"openId":"u"}"#,
        )
        .unwrap();
        let camel = parse_token_body(
            ProviderKind::Coros,
            br#"{"accessToken":"a","refreshToken":"r","expiresIn":30,"openId":"u"}"#,
        )
        .unwrap();
        for body in [snake, camel] {
            assert_eq!(
                (
                    body.access_token.as_str(),
                    body.refresh_token.as_deref(),
                    body.expires_in
                ),
                ("a", Some("r"), Some(30))
            );
            assert_eq!(body.extra["openId"], "u");
        }
    }

    #[test]
    fn states_are_unique_and_long() {
        let (a, b) = (new_state(), new_state());
        assert_ne!(a, b);
        assert!(a.len() >= 22, "at least 128 bits of randomness: {a}");
    }

    #[test]
    fn expiry_prefers_the_absolute_time() {
        let now = Utc.timestamp_opt(1_000, 0).unwrap();
        assert_eq!(
            expiry(now, Some(5_000), Some(10)),
            Utc.timestamp_opt(5_000, 0).single()
        );
        assert_eq!(
            expiry(now, None, Some(10)),
            Utc.timestamp_opt(1_010, 0).single()
        );
        assert_eq!(expiry(now, None, None), None);
    }

    #[test]
    fn a_malformed_token_answer_is_reported_without_its_contents() {
        let cut = br#"{"access_token": "sbx-at-very-secret", "refresh_tok"#;
        let err = parse_token_body(crate::domain::ProviderKind::Wahoo, cut)
            .err()
            .unwrap();
        let message = err.to_string();
        assert!(message.contains("cut short"), "{message}");
        assert!(
            !message.contains("very-secret"),
            "the token must not leak: {message}"
        );
    }

    #[test]
    fn scopes_split_on_commas_and_spaces() {
        assert_eq!(
            split_scope("read,activity:read_all"),
            ["read", "activity:read_all"]
        );
        assert_eq!(split_scope("a b"), ["a", "b"]);
    }

    #[test]
    fn an_absurd_lifetime_does_not_panic() {
        let now = Utc.timestamp_opt(1_000, 0).unwrap();
        assert_eq!(
            expiry(now, None, Some(i64::MAX)),
            None,
            "no expiry we could believe"
        );
        assert_eq!(expiry(now, Some(i64::MAX), None), None);
        assert!(
            expiry(now, None, Some(-5)).is_some_and(|t| t <= now),
            "already expired"
        );
    }
}
