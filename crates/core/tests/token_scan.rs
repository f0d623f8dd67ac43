//! Tokens never reach a log (at trace level), an event, or a reply a front end is sent: all six
//! providers' connect, refresh, sync, listing and disconnect, with every log line of the process
//! captured. A binary of its own, so that it owns the process's log subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "core/harness.rs"]
#[allow(dead_code)]
mod harness;

use harness::Harness;
use tributary_core::domain::{ProviderKind, SyncTrigger};
use tributary_core::sync::SyncMode;

/// A `MakeWriter` into a shared buffer (the trace-level log under test).
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_token_reaches_the_logs_the_events_or_what_front_ends_are_sent() {
    let log = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(log.clone())
        .with_ansi(false)
        .finish();
    // The only test in this binary: every log line of the process lands in the buffer.
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let h = Harness::new(40).await;
    let mut replies = Vec::new();
    let mut secrets = Vec::new();
    for &provider in ProviderKind::ALL {
        replies.push(serde_json::to_string(&h.connect_to(provider).await).unwrap());
        secrets.extend(h.stored_secret_values().await);
        // A refresh on the way: the access token runs out at the provider mid-life.
        h.control(
            "expire_tokens",
            serde_json::json!({ "provider": provider.as_str() }),
        )
        .await;
        let run = h
            .core
            .sync(provider, SyncTrigger::Manual, SyncMode::Full)
            .await
            .unwrap();
        replies.push(serde_json::to_string(&run).unwrap());
        secrets.extend(h.stored_secret_values().await);
    }
    replies.push(serde_json::to_string(&h.core.dashboard().await.unwrap()).unwrap());
    replies.push(serde_json::to_string(&h.core.available_providers().await.unwrap()).unwrap());
    let page = tributary_core::library::PageRequest {
        limit: 500,
        ..Default::default()
    };
    let listing = h.core.activities(&Default::default(), &page).await.unwrap();
    replies.push(serde_json::to_string(&listing).unwrap());
    for &provider in ProviderKind::ALL {
        replies.push(
            serde_json::to_string(&h.core.disconnect(provider, true).await.unwrap()).unwrap(),
        );
    }
    let events = serde_json::to_string(&h.events.events()).unwrap();
    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(
        logged.contains("TRACE") || logged.contains("DEBUG"),
        "the log was captured"
    );
    // The keyring holds JSON documents; the secrets are the strings inside them.
    let mut secrets: Vec<String> = secrets
        .iter()
        .flat_map(
            |stored| match serde_json::from_str::<serde_json::Value>(stored) {
                Ok(serde_json::Value::Object(fields)) => fields
                    .values()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .filter(|v| v.len() >= 12)
                    .collect(),
                _ => vec![stored.clone()],
            },
        )
        .collect();
    secrets.sort();
    secrets.dedup();
    assert!(
        secrets.iter().filter(|s| s.starts_with("sbx-")).count() >= 12,
        "tokens were issued, refreshed and kept: {secrets:?}"
    );
    let prefixes = [
        "sbx-at-",
        "sbx-rt-",
        "sbx-code-",
        tributary_sandbox::DEMO_CLIENT_SECRET,
    ];
    for (what, text) in [
        ("the log", &logged),
        ("the events", &events),
        ("the replies", &replies.join("\n")),
    ] {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "a stored secret in {what}");
        }
        for prefix in prefixes {
            assert!(!text.contains(prefix), "{prefix}… in {what}");
        }
    }
}
