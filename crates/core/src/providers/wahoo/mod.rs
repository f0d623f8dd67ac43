//! Wahoo Cloud API: OAuth2 with PKCE (the secret is optional), 2 h access tokens, single-use
//! refresh tokens that rotate (the engine refreshes only right before a call that needs it, one at
//! a time per connection, and persists the new pair before using it: Wahoo caps live tokens at 10
//! per user), `/v1/workouts` paged without a date filter, and per-app budgets in `X-RateLimit-*`.
//! Facts and sources: `shared/providers.md`, section 5.

mod map;
mod wire;

use super::SignIn;
use super::http::{Call, Http, RateBudget, Response};
use super::{
    ActivityPage, Capabilities, ClientAuth, ClientCredentials, Delivery, Endpoints, ListRequest,
    Provider, RateLimitWindow, Redirects, RefreshStyle, TokenGrant, join, read_cursor,
};
use crate::config::ProviderSettings;
use crate::domain::{ConnectionProfile, ProviderKind};
use crate::{Error, Result};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use url::Url;

const KIND: ProviderKind = ProviderKind::Wahoo;
const PER_PAGE: usize = 50;

/// The Wahoo client.
pub struct Wahoo {
    http: Http,
    endpoints: Endpoints,
}

/// Pages come newest first with no date filter: walk them until one reaches below `since`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
struct Cursor {
    page: u32,
    since: Option<i64>,
}

impl Wahoo {
    /// Build from settings (defaults: the real Wahoo endpoints).
    pub fn new(settings: &ProviderSettings, http: Http) -> Result<Self> {
        Ok(Self {
            http,
            endpoints: Endpoints::resolve(
                settings,
                [
                    "https://api.wahooligan.com/oauth/authorize",
                    "https://api.wahooligan.com/oauth/token",
                    "https://api.wahooligan.com",
                ],
            )?,
        })
    }

    fn api(&self, path: &str) -> Url {
        join(&self.endpoints.api_url, &format!("v1/{path}"))
    }

    fn fail(&self, call: &Call<'_>, response: &Response) -> Error {
        let now = call.clock.now();
        let reset =
            rate_budget(&response.headers, now).map_or(now + Duration::minutes(5), |b| b.resets_at);
        self.http.classify(response, reset)
    }
}

#[async_trait]
impl Provider for Wahoo {
    fn kind(&self) -> ProviderKind {
        KIND
    }

    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    fn http(&self) -> &Http {
        &self.http
    }

    fn missing_scopes(&self, granted: &[String]) -> Vec<String> {
        // Wahoo reports granted scopes on the token; an empty report is not a refusal.
        if granted.is_empty() || granted.iter().any(|g| g == "workouts_read") {
            Vec::new()
        } else {
            vec!["workouts_read".to_owned()]
        }
    }

    async fn fetch_profile(
        &self,
        call: &Call<'_>,
        _grant: &TokenGrant,
    ) -> Result<ConnectionProfile> {
        let url = self.api("user");
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        map::profile(response.json(KIND)?).map_err(|message| Error::Provider {
            provider: KIND,
            status: None,
            message,
        })
    }

    async fn revoke(
        &self,
        call: &Call<'_>,
        _creds: &ClientCredentials,
        _provider_user_id: Option<&str>,
    ) -> Result<()> {
        let url = self.api("permissions");
        let response = self.http.send(call, |c| c.delete(url.clone())).await?;
        if response.status.is_success() {
            Ok(())
        } else {
            Err(self.fail(call, &response))
        }
    }

    /// The FIT the summary points at (`workout_summary.file.url`, on Wahoo's file host: not
    /// counted against the API's limits, and never sent our token). A workout without a
    /// summary or a file has none.
    async fn fetch_recording(
        &self,
        call: &Call<'_>,
        request: &super::RecordingRequest<'_>,
    ) -> Result<super::FetchedRecording> {
        let url = request
            .summary
            .pointer("/workout_summary/file/url")
            .and_then(serde_json::Value::as_str);
        match url {
            Some(url) => super::download_file(&self.http, call, url).await,
            None => Ok(super::FetchedRecording::Missing(
                "Wahoo lists no file for this workout (no summary, or entered by hand)".to_owned(),
            )),
        }
    }

    async fn list_activities(
        &self,
        call: &Call<'_>,
        request: &ListRequest,
    ) -> Result<ActivityPage> {
        let cursor = match &request.cursor {
            Some(text) => read_cursor(KIND, text)?,
            None => Cursor {
                page: 1,
                since: request.since.map(|s| s.timestamp()),
            },
        };
        let mut url = self.api("workouts");
        url.query_pairs_mut()
            .append_pair("page", &cursor.page.to_string())
            .append_pair("per_page", &PER_PAGE.to_string());
        let response = self.http.send(call, |c| c.get(url.clone())).await?;
        if !response.status.is_success() {
            return Err(self.fail(call, &response));
        }
        let list: wire::WorkoutList = response.json(KIND)?;
        let seen_all = list
            .total
            .is_some_and(|total| u64::from(cursor.page) * PER_PAGE as u64 >= total);
        let full_page = list.workouts.len() >= PER_PAGE && !seen_all;
        let items: Vec<_> = list.workouts.map(map::workout);
        let oldest = items
            .iter()
            .filter_map(|i| i.as_ref().ok())
            .map(|a| a.start_utc.timestamp())
            .min();
        let reached_known =
            matches!((cursor.since, oldest), (Some(since), Some(oldest)) if oldest < since);
        let next_cursor = if full_page && !reached_known {
            let next = Cursor {
                page: cursor.page.saturating_add(1),
                ..cursor
            };
            Some(serde_json::to_string(&next).map_err(|e| Error::Internal(e.to_string()))?)
        } else {
            None
        };
        let progress = list
            .total
            .filter(|t| *t > 0)
            .map(|total| (u64::from(cursor.page) * PER_PAGE as u64) as f64 / total as f64);
        Ok(ActivityPage {
            items,
            next_cursor,
            position: None,
            progress: progress.map(|p| p.clamp(0.0, 1.0)),
        })
    }
}

/// Wahoo's capabilities.
pub fn capabilities() -> Capabilities {
    Capabilities {
        display_name: "Wahoo",
        sign_in: SignIn::Browser,
        client_auth: ClientAuth::PublicPkce,
        pkce: true,
        client_secret_required: false,
        refresh: RefreshStyle::Rotating,
        delivery: Delivery::Pull,
        history_window_days: None,
        overlap_days: 7,
        scopes: vec!["user_read", "workouts_read", "offline_data"],
        scope_delimiter: " ",
        required_scopes: vec!["workouts_read"],
        rate_limits: vec![
            RateLimitWindow {
                window: "5 min",
                seconds: 300,
                limit: 200,
                shared_by: "app",
            },
            RateLimitWindow {
                window: "1 h",
                seconds: 3600,
                limit: 1000,
                shared_by: "app",
            },
            RateLimitWindow {
                window: "day",
                seconds: 86400,
                limit: 5000,
                shared_by: "app",
            },
        ],
        // Custom-scheme and loopback rules for Wahoo redirect URIs are [unverified].
        loopback_host: "localhost",
        deep_link_host: "oauth",
        redirects: Redirects::ANY,
        recordings: super::Recordings::Originals,
        implemented: true,
        app_settings_url: Some("https://developers.wahooligan.com"),
        activity_page: None,
        revoke_before_new_grant: true,
        door: super::Door {
            id: "cloud_api",
            name: "Wahoo Cloud API",
            revoke_by_hand: None,
        },
        ids_differ_from: vec![],
        absence_is_deletion: true,
    }
}

/// `X-RateLimit-Limit` / `-Remaining` ("day,hour,5min") and `-Reset` (seconds: one value, or
/// one per window) into the tightest budget.
pub fn rate_budget(headers: &HeaderMap, now: DateTime<Utc>) -> Option<RateBudget> {
    let triple = |name: &str| -> Option<Vec<i64>> {
        let text = headers.get(name)?.to_str().ok()?;
        text.split(',').map(|v| v.trim().parse().ok()).collect()
    };
    let remaining = triple("x-ratelimit-remaining")?;
    let resets = triple("x-ratelimit-reset").unwrap_or_default();
    let windows = [Duration::days(1), Duration::hours(1), Duration::minutes(5)];
    let mut best: Option<RateBudget> = None;
    for (i, left) in remaining.iter().enumerate().take(3) {
        // Provider numbers: checked; a reset that cannot be represented is not trusted.
        let reset = match resets.get(i).or(resets.first()) {
            Some(s) => match Duration::try_seconds(*s) {
                Some(reset) => reset,
                None => continue,
            },
            None => windows[i],
        };
        let Some(resets_at) = now.checked_add_signed(reset) else {
            continue;
        };
        let budget = RateBudget {
            remaining: (*left).max(0),
            resets_at,
        };
        let tighter = best.is_none_or(|b| {
            (budget.remaining, std::cmp::Reverse(budget.resets_at))
                < (b.remaining, std::cmp::Reverse(b.resets_at))
        });
        if tighter {
            best = Some(budget);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use reqwest::header::HeaderValue;

    #[test]
    fn the_five_minute_window_usually_binds() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
        let mut h = HeaderMap::new();
        h.insert(
            "x-ratelimit-limit",
            HeaderValue::from_static("5000,1000,200"),
        );
        h.insert(
            "x-ratelimit-remaining",
            HeaderValue::from_static("4800,900,12"),
        );
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_static("50000,2000,120"),
        );
        assert_eq!(
            rate_budget(&h, now),
            Some(RateBudget {
                remaining: 12,
                resets_at: now + Duration::seconds(120)
            })
        );
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0,0,0"));
        assert_eq!(
            rate_budget(&h, now).unwrap().resets_at,
            now + Duration::seconds(50_000),
            "all spent: wait for the day"
        );
    }
}
