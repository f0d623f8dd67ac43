//! What is documented about the providers this build describes but cannot sync yet, so the
//! available-providers list is honest about all six. Each becomes its own module (and leaves
//! this list) when its adapter lands. Facts: `shared/providers.md`; [unverified] ones are noted.

use super::{Capabilities, ClientAuth, Delivery, RateLimitWindow, RefreshStyle};
use crate::domain::ProviderKind;

pub(super) fn described() -> Vec<(ProviderKind, Capabilities)> {
    let window = |window, limit, shared_by| RateLimitWindow {
        window,
        limit,
        shared_by,
    };
    vec![(
        ProviderKind::Garmin,
        Capabilities {
            display_name: "Garmin",
            client_auth: ClientAuth::SecretInBody,
            pkce: true,
            client_secret_required: true,
            refresh: RefreshStyle::Rotating, // reported to rotate [3P]
            delivery: Delivery::PushInbox,
            history_window_days: Some(30), // backfill windows of ~30 days [3P]
            overlap_days: 2,
            scopes: vec![],
            rate_limits: vec![window("1 min", 100, "app")], // [3P]
            loopback_host: "127.0.0.1",
            deep_link_host: "oauth",
            implemented: false,
        },
    )]
}
