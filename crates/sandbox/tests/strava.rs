//! The sandbox keeps Strava's rules: secret required, single-use codes, refresh that rotates,
//! paging by before/after/page, rate-limit headers and a 429 when the budget is spent.

// Test helpers panic by design: a failed set-up step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use reqwest::redirect::Policy;
use serde_json::Value;
use tributary_sandbox::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Sandbox, SandboxConfig};

struct Rig {
    sandbox: Sandbox,
    http: reqwest::Client,
}

impl Rig {
    async fn new(activities: usize) -> Self {
        let sandbox = Sandbox::start(
            SandboxConfig {
                activities,
                ..SandboxConfig::default()
            },
            0,
        )
        .await
        .unwrap();
        Self {
            sandbox,
            http: reqwest::Client::builder()
                .redirect(Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/strava{path}", self.sandbox.base_url())
    }

    async fn code(&self, scope: &str) -> String {
        let approve = self.url(&format!(
            "/oauth/approve?client_id={DEMO_CLIENT_ID}&redirect_uri=http://localhost:1/callback&response_type=code&scope={scope}&state=s&decision=approve"
        ));
        let response = self.http.get(approve).send().await.unwrap();
        let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
        location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned()
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let response = self
            .http
            .post(self.url("/oauth/token"))
            .form(form)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn exchange(&self, code: &str) -> (u16, Value) {
        self.token(&[
            ("client_id", DEMO_CLIENT_ID),
            ("client_secret", DEMO_CLIENT_SECRET),
            ("grant_type", "authorization_code"),
            ("code", code),
        ])
        .await
    }
}

#[tokio::test]
async fn codes_need_the_secret_and_work_once() {
    let rig = Rig::new(5).await;
    let code = rig.code("read,activity:read_all").await;
    let (status, body) = rig
        .token(&[
            ("client_id", DEMO_CLIENT_ID),
            ("grant_type", "authorization_code"),
            ("code", &code),
        ])
        .await;
    assert_eq!(
        (status, body["errors"][0]["field"].as_str()),
        (400, Some("client_secret"))
    );
    let code = rig.code("read,activity:read_all").await;
    let (status, body) = rig.exchange(&code).await;
    assert_eq!(status, 200);
    assert!(
        (21_590..=21_600).contains(&body["expires_in"].as_i64().unwrap()),
        "6 h tokens"
    );
    assert_eq!(body["athlete"]["id"], 31_415_926);
    let (status, body) = rig.exchange(&code).await;
    assert_eq!(
        (status, body["errors"][0]["resource"].as_str()),
        (400, Some("AuthorizationCode")),
        "single use"
    );
}

#[tokio::test]
async fn refresh_returns_the_same_token_until_the_last_hour_then_rotates() {
    let rig = Rig::new(5).await;
    let (_, first) = rig.exchange(&rig.code("activity:read").await).await;
    let refresh = first["refresh_token"].as_str().unwrap().to_owned();
    let form = |r: &str| {
        vec![
            ("client_id", DEMO_CLIENT_ID.to_owned()),
            ("client_secret", DEMO_CLIENT_SECRET.to_owned()),
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", r.to_owned()),
        ]
    };
    let send =
        |f: Vec<(&'static str, String)>| rig.http.post(rig.url("/oauth/token")).form(&f).send();
    let same: Value = send(form(&refresh)).await.unwrap().json().await.unwrap();
    assert_eq!(
        same["access_token"], first["access_token"],
        "more than an hour left: unchanged"
    );
    rig.http
        .post(format!("{}/_control/expire_tokens", rig.sandbox.base_url()))
        .send()
        .await
        .unwrap();
    let rotated: Value = send(form(&refresh)).await.unwrap().json().await.unwrap();
    assert_ne!(rotated["refresh_token"], first["refresh_token"]);
    let stale = send(form(&refresh)).await.unwrap();
    assert_eq!(
        stale.status(),
        400,
        "the old refresh token died with the rotation"
    );
}

#[tokio::test]
async fn activities_page_newest_first_with_rate_headers() {
    let rig = Rig::new(30).await;
    let (_, t) = rig.exchange(&rig.code("activity:read_all").await).await;
    let token = t["access_token"].as_str().unwrap();
    let get = |q: String| {
        rig.http
            .get(rig.url(&format!("/api/v3/athlete/activities?{q}")))
            .bearer_auth(token)
            .send()
    };
    let page1 = get("per_page=20&page=1".into()).await.unwrap();
    assert_eq!(page1.headers()["x-readratelimit-limit"], "100,1000");
    assert_eq!(page1.headers()["x-readratelimit-usage"], "1,1");
    let page1: Vec<Value> = page1.json().await.unwrap();
    let page2: Vec<Value> = get("per_page=20&page=2".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((page1.len(), page2.len()), (20, 10));
    assert!(
        page1[0]["start_date"].as_str() > page1[19]["start_date"].as_str(),
        "newest first"
    );
    let oldest_on_1 =
        chrono::DateTime::parse_from_rfc3339(page1[19]["start_date"].as_str().unwrap())
            .unwrap()
            .timestamp();
    let before: Vec<Value> = get(format!("per_page=200&before={oldest_on_1}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        before, page2,
        "walking back by `before` gives the same records as page 2"
    );
    assert!(
        page1[0]["id"].as_i64().unwrap() > i64::from(i32::MAX),
        "int64 ids"
    );
}

#[tokio::test]
async fn a_spent_budget_answers_429_and_a_missing_scope_401() {
    let rig = Rig::new(5).await;
    rig.http
        .post(format!("{}/_control/budget", rig.sandbox.base_url()))
        .json(&serde_json::json!({"short": 1, "daily": 10}))
        .send()
        .await
        .unwrap();
    let (_, t) = rig.exchange(&rig.code("read").await).await;
    let token = t["access_token"].as_str().unwrap();
    let list = || {
        rig.http
            .get(rig.url("/api/v3/athlete/activities"))
            .bearer_auth(token)
            .send()
    };
    let scoped = list().await.unwrap();
    assert_eq!(scoped.status(), 401);
    assert!(
        scoped
            .text()
            .await
            .unwrap()
            .contains("activity:read_permission")
    );
    let limited = list().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert_eq!(
        limited.headers()["x-readratelimit-usage"],
        "1,2",
        "the 15-minute window shown spent; the day's usage (rejected calls count) as it is"
    );
    let bad_token = rig
        .http
        .get(rig.url("/api/v3/athlete"))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(
        bad_token.status(),
        429,
        "rejected requests still count; the budget is spent"
    );
}

#[tokio::test]
async fn state_survives_a_restart_through_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = SandboxConfig {
        activities: 7,
        state_file: Some(dir.path().join("s.json")),
        ..SandboxConfig::default()
    };
    let first = Sandbox::start(config.clone(), 0).await.unwrap();
    let rig = Rig {
        sandbox: first,
        http: reqwest::Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap(),
    };
    let (_, t) = rig.exchange(&rig.code("activity:read_all").await).await;
    rig.sandbox.stop().await;
    let second = Sandbox::start(
        SandboxConfig {
            activities: 999,
            ..config
        },
        0,
    )
    .await
    .unwrap();
    let url = format!("{}/strava/api/v3/athlete/activities", second.base_url());
    let list: Vec<Value> = rig
        .http
        .get(url)
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list.len(),
        7,
        "the token and the data set came back; the new count is ignored"
    );
}
