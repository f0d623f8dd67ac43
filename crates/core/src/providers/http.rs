//! The HTTP policy every provider shares: timeouts, retries with backoff and jitter for transient
//! failures, API-call counting, and a rate-budget gate that refuses to call a provider whose budget
//! is known to be spent (so a 429 never turns into a retry storm).

use super::Unmappable;
use crate::clock::Clock;
use crate::config::RetryPolicy;
use crate::domain::ProviderKind;
use crate::secrets::Sensitive;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, StatusCode};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

/// The most a provider's answer may hold (a page of activities is well under 1 MiB): a larger
/// one is refused, not read into memory.
pub const MAX_BODY: usize = 32 << 20;

/// Read `response`'s body up to `limit` bytes; None when it is longer.
async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> std::result::Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// A provider's remaining budget, read from its rate-limit headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateBudget {
    /// Requests left in the tightest window.
    pub remaining: i64,
    /// When that window resets.
    pub resets_at: DateTime<Utc>,
}

/// Parses a provider's rate-limit headers.
pub type RateParser = fn(&HeaderMap, DateTime<Utc>) -> Option<RateBudget>;

/// Counts one run's API calls and tracks the provider's budget as seen in responses.
#[derive(Debug, Default)]
pub struct Meter {
    calls: AtomicI64,
    budget: Mutex<Option<RateBudget>>,
}

impl Meter {
    /// API calls made so far (attempts that reached the network).
    pub fn calls(&self) -> i64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// The last budget the provider reported.
    pub fn budget(&self) -> Option<RateBudget> {
        *self
            .budget
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Count one call that reached the network.
    pub fn count_call(&self) {
        self.calls.fetch_add(1, Ordering::Relaxed);
    }

    /// Record the budget a response reported (`None`: it reported nothing; keep what we knew).
    pub fn observe(&self, budget: Option<RateBudget>) {
        if let Some(budget) = budget {
            *self
                .budget
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(budget);
        }
    }
}

/// What one provider call needs besides its arguments.
pub struct Call<'a> {
    /// Bearer token for API calls (None for token-endpoint calls).
    pub token: Option<&'a Sensitive<String>>,
    /// Where calls and budget are recorded.
    pub meter: &'a Meter,
    /// The clock (budget windows, backoff jitter).
    pub clock: &'a dyn Clock,
}

/// A response read to the end.
#[derive(Debug)]
pub struct Response {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl Response {
    /// What an error message may say of the body: the error fields of a JSON answer
    /// (`message`, `error`, `error_description`, `code`, …), or what kind of text it was, never
    /// the text itself. An error body can echo what the request carried (a personal API key in
    /// a header, a code, a refresh token), and error messages reach the database, the logs and
    /// the window; anything shaped like a credential is blanked even in those fields.
    pub fn body_excerpt(&self) -> String {
        excerpt(&self.body)
    }

    /// Parse the body as JSON into `T`, or explain what was wrong with it.
    pub fn json<T: serde::de::DeserializeOwned>(&self, provider: ProviderKind) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| Error::Provider {
            provider,
            status: None,
            message: format!("malformed response ({e}): {}", self.body_excerpt()),
        })
    }
}

/// See [`Response::body_excerpt`].
fn excerpt(body: &[u8]) -> String {
    const FIELDS: [&str; 12] = [
        "message",
        "error",
        "error_description",
        "errorMessage",
        "errorType",
        "code",
        "status",
        "title",
        "detail",
        "field",
        "resource",
        "reason",
    ];
    fn collect(value: &serde_json::Value, depth: u8, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) if depth < 4 => {
                for (k, v) in map {
                    match v {
                        serde_json::Value::String(text) if FIELDS.contains(&k.as_str()) => {
                            out.push(format!("{k}: {}", redact(text)));
                        }
                        serde_json::Value::Number(n) if FIELDS.contains(&k.as_str()) => {
                            out.push(format!("{k}: {n}"));
                        }
                        serde_json::Value::Object(_) | serde_json::Value::Array(_) => {
                            collect(v, depth + 1, out);
                        }
                        _ => {}
                    }
                }
            }
            serde_json::Value::Array(items) if depth < 4 => {
                for item in items.iter().take(5) {
                    collect(item, depth + 1, out);
                }
            }
            _ => {}
        }
    }
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return "an empty answer".to_owned();
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) {
        let mut fields = Vec::new();
        collect(&value, 0, &mut fields);
        if fields.is_empty() {
            return format!(
                "a JSON answer of {} bytes without an error message",
                body.len()
            );
        }
        let joined = fields.join("; ");
        let mut short: String = joined.chars().take(300).collect();
        if joined.chars().count() > 300 {
            short.push('…');
        }
        return short;
    }
    if trimmed.starts_with('<') {
        return format!("an HTML page of {} bytes", body.len());
    }
    // Plain text: its first line, with anything shaped like a credential blanked.
    let line = trimmed.lines().next().unwrap_or_default();
    let mut short: String = redact(line).chars().take(120).collect();
    if line.chars().count() > 120 || trimmed.lines().count() > 1 {
        short.push('…');
    }
    short
}

/// `text` with every run shaped like a credential (20 or more characters of letters, digits
/// and `-_.~+/=` with at least one digit and one letter) replaced by `[…]`.
fn redact(text: &str) -> String {
    let credential_char = |c: char| c.is_ascii_alphanumeric() || "-_.~+/=".contains(c);
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let looks_secret = run.chars().count() >= 20
            && run.chars().any(|c| c.is_ascii_digit())
            && run.chars().any(|c| c.is_ascii_alphabetic());
        if looks_secret {
            out.push_str("[…]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if credential_char(c) {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// A provider's list of records, read one by one: a record that is not JSON we can hold on its
/// own (a lone surrogate in a string, a number beyond `f64`) becomes that record's failure, with
/// its reason, instead of failing the whole page on every run. The list itself must be
/// well-formed; only its elements are read separately.
#[derive(Debug, Default)]
pub struct Records(pub Vec<std::result::Result<serde_json::Value, Unmappable>>);

impl<'de> serde::Deserialize<'de> for Records {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        // The splitter skips strings and numbers without judging them (serde_json's RawValue):
        // what it returns is each element's text, read below on its own.
        let raw: Vec<Box<serde_json::value::RawValue>> = serde::Deserialize::deserialize(d)?;
        Ok(Self(
            raw.into_iter()
                .map(|r| {
                    serde_json::from_str(r.get()).map_err(|e| Unmappable {
                        provider_activity_id: None,
                        reason: format!("the record cannot be read ({e})"),
                    })
                })
                .collect(),
        ))
    }
}

impl Records {
    /// How many records the list held, readable or not.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the list was empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Map each readable record; unreadable ones stay failures.
    pub fn map<T>(
        self,
        f: impl Fn(serde_json::Value) -> std::result::Result<T, Unmappable>,
    ) -> Vec<std::result::Result<T, Unmappable>> {
        self.0.into_iter().map(|r| r.and_then(&f)).collect()
    }
}

/// A provider's HTTP client with the shared policy.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    provider: ProviderKind,
    retry: RetryPolicy,
    rate: RateParser,
}

impl Http {
    /// Wrap the shared client for one provider.
    pub fn new(
        client: reqwest::Client,
        provider: ProviderKind,
        retry: RetryPolicy,
        rate: RateParser,
    ) -> Self {
        Self {
            client,
            provider,
            retry,
            rate,
        }
    }

    /// Which provider this client talks to.
    pub fn provider(&self) -> ProviderKind {
        self.provider
    }

    /// Send a request built by `build` (called once per attempt), retrying transport failures and
    /// 5xx with exponential backoff and jitter. Any other status is returned for the provider to
    /// classify. Refuses without calling when the known budget is spent.
    pub async fn send(
        &self,
        call: &Call<'_>,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(budget) = call.meter.budget()
                && budget.remaining <= 0
                && budget.resets_at > call.clock.now()
            {
                return Err(Error::RateLimited {
                    provider: self.provider,
                    until: budget.resets_at,
                });
            }
            let mut request = build(&self.client);
            if let Some(token) = call.token {
                request = request.bearer_auth(token.expose());
            }
            call.meter.count_call();
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    call.meter.observe((self.rate)(&headers, call.clock.now()));
                    match read_bounded(response, MAX_BODY).await {
                        Ok(Some(body)) => Ok(Response {
                            status,
                            headers,
                            body,
                        }),
                        Ok(None) => Err(Error::Provider {
                            provider: self.provider,
                            status: Some(status.as_u16()),
                            message: format!(
                                "the response was larger than {} MiB; not read",
                                MAX_BODY / (1 << 20)
                            ),
                        }),
                        Err(source) => Err(self.network(source)),
                    }
                }
                Err(source) => Err(self.network(source)),
            };
            let retryable = match &outcome {
                Ok(response) => response.status.is_server_error(),
                Err(error) => error.is_transient(),
            };
            if !retryable || attempt >= self.retry.attempts {
                return match outcome {
                    Ok(response) if response.status.is_server_error() => Err(Error::Provider {
                        provider: self.provider,
                        status: Some(response.status.as_u16()),
                        message: format!(
                            "server error after {attempt} attempts: {}",
                            response.body_excerpt()
                        ),
                    }),
                    other => other,
                };
            }
            let delay = self.retry.delay(attempt, call.clock.now());
            tracing::warn!(provider = %self.provider, attempt, ?delay, "transient failure, retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// A transport error without its URL: some providers (COROS) carry the token in the query
    /// string, and an error message ends up in logs and in `sync_history`.
    fn network(&self, source: reqwest::Error) -> Error {
        Error::Network {
            provider: self.provider,
            source: source.without_url(),
        }
    }

    /// The shared classification of a non-success status. Providers refine it where their API
    /// says more (e.g. a missing scope behind a 401).
    /// `rate_reset` is when the provider's budget refills, for a 429.
    pub fn classify(&self, response: &Response, rate_reset: DateTime<Utc>) -> Error {
        let provider = self.provider;
        let body = response.body_excerpt();
        match response.status {
            StatusCode::UNAUTHORIZED => Error::NeedsReauth {
                provider,
                reason: body,
            },
            StatusCode::GONE => Error::Deprecated {
                provider,
                message: body,
            },
            StatusCode::TOO_MANY_REQUESTS => Error::RateLimited {
                provider,
                until: rate_reset,
            },
            status => Error::Provider {
                provider,
                status: Some(status.as_u16()),
                message: body,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_body_is_summarised_never_quoted() {
        // Issue 14, defect 15: bodies were quoted into stored messages; an answer to the Garmin
        // key exchange can echo the key its request carried.
        let key = "gcpak_7f3e9a2b41c8d6e5f0a1b2c3d4e5f6a7";
        let echo = format!(
            r#"{{"error":"invalid_key","message":"key {key} is not valid","request":{{"authorization":"ApiKey {key}"}}}}"#
        );
        let said = excerpt(echo.as_bytes());
        assert!(!said.contains(key), "{said}");
        assert!(
            said.contains("invalid_key") && said.contains("is not valid"),
            "{said}"
        );
        let plain = format!("bad key {key}\nAuthorization: ApiKey {key}");
        assert!(!excerpt(plain.as_bytes()).contains(key));
        assert_eq!(
            excerpt(b"<html><body>oops</body></html>"),
            "an HTML page of 30 bytes"
        );
        assert_eq!(excerpt(b"upstream exploded"), "upstream exploded");
        let strava = br#"{"message":"Authorization Error","errors":[{"resource":"Athlete","field":"access_token","code":"invalid"}]}"#;
        let said = excerpt(strava);
        assert!(
            said.contains("Authorization Error") && said.contains("access_token"),
            "{said}"
        );
    }

    #[tokio::test]
    async fn server_errors_are_retried_after_growing_waits() {
        // The sync test counts the three calls; this one holds the waits between them (retrying
        // at once would hammer a provider that is already failing).
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/x", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let mut arrivals = Vec::new();
            for status in [
                "500 Internal Server Error",
                "500 Internal Server Error",
                "200 OK",
            ] {
                let (mut stream, _) = listener.accept().unwrap();
                arrivals.push(std::time::Instant::now());
                let mut request = [0_u8; 4096];
                let _ = stream.read(&mut request);
                let body = "{}";
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            arrivals
        });
        let retry = RetryPolicy {
            attempts: 3,
            base: std::time::Duration::from_millis(200),
            max: std::time::Duration::from_secs(1),
        };
        let http = Http::new(
            reqwest::Client::new(),
            ProviderKind::Strava,
            retry,
            |_, _| None,
        );
        let meter = Meter::default();
        let call = Call {
            token: None,
            meter: &meter,
            clock: &crate::clock::SystemClock,
        };
        let response = http.send(&call, |c| c.get(&url)).await.unwrap();
        assert_eq!(response.status, StatusCode::OK, "the third try succeeds");
        let arrivals = server.join().unwrap();
        let first = arrivals[1] - arrivals[0];
        let second = arrivals[2] - arrivals[1];
        assert!(first >= std::time::Duration::from_millis(200), "{first:?}");
        assert!(
            second >= std::time::Duration::from_millis(400),
            "doubled: {second:?}"
        );
    }

    #[tokio::test]
    async fn bodies_longer_than_the_limit_are_not_read() {
        let response = |body: &'static str| {
            reqwest::Response::from(http::Response::new(body.as_bytes().to_vec()))
        };
        assert_eq!(
            read_bounded(response("0123456789"), 10).await.unwrap(),
            Some(b"0123456789".to_vec())
        );
        assert_eq!(
            read_bounded(response("0123456789a"), 10).await.unwrap(),
            None
        );
    }
}
