//! The athlete's settings: how the background agent paces itself, whether it is paused, whether
//! the app starts at login, whether it notifies. One JSON document in the `settings` table, read
//! with defaults for anything missing (a newer version's extra fields are kept, not lost).

use crate::domain::SchedulerSettings;
use crate::store::Store;
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The settings key of the app's document.
const KEY: &str = "app";

/// The athlete's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Settings {
    /// Between two background runs of a connection, in seconds (10 s to 7 days).
    pub sync_interval_seconds: u32,
    /// Between two reconcile passes of a connection, in hours (1 to 720).
    pub reconcile_hours: u32,
    /// Background sync paused by the athlete.
    pub paused: bool,
    /// Start at login, minimised to the tray.
    pub autostart: bool,
    /// Raise a desktop notification when something needs the athlete.
    pub notifications: bool,
    /// Whether the athlete was told once that closing the window keeps the agent running.
    pub close_to_tray_explained: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            sync_interval_seconds: 3600,
            reconcile_hours: 24,
            paused: false,
            autostart: false,
            notifications: true,
            close_to_tray_explained: false,
        }
    }
}

/// A change to some settings (absent fields stay as they are).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SettingsPatch {
    /// See [`Settings::sync_interval_seconds`].
    pub sync_interval_seconds: Option<u32>,
    /// See [`Settings::reconcile_hours`].
    pub reconcile_hours: Option<u32>,
    /// See [`Settings::paused`].
    pub paused: Option<bool>,
    /// See [`Settings::autostart`].
    pub autostart: Option<bool>,
    /// See [`Settings::notifications`].
    pub notifications: Option<bool>,
    /// See [`Settings::close_to_tray_explained`].
    pub close_to_tray_explained: Option<bool>,
}

impl Settings {
    /// The scheduler's pacing these settings ask for.
    pub fn scheduler(&self) -> SchedulerSettings {
        SchedulerSettings {
            interval: std::time::Duration::from_secs(u64::from(self.sync_interval_seconds)),
            reconcile_every: std::time::Duration::from_secs(u64::from(self.reconcile_hours) * 3600),
            ..SchedulerSettings::default()
        }
    }

    fn apply(mut self, patch: &SettingsPatch) -> Result<Self> {
        if let Some(seconds) = patch.sync_interval_seconds {
            if !(10..=7 * 24 * 3600).contains(&seconds) {
                return Err(Error::Validation(
                    "the sync interval must be between 10 seconds and 7 days".to_owned(),
                ));
            }
            self.sync_interval_seconds = seconds;
        }
        if let Some(hours) = patch.reconcile_hours {
            if !(1..=720).contains(&hours) {
                return Err(Error::Validation(
                    "the reconcile interval must be between 1 hour and 30 days".to_owned(),
                ));
            }
            self.reconcile_hours = hours;
        }
        self.paused = patch.paused.unwrap_or(self.paused);
        self.autostart = patch.autostart.unwrap_or(self.autostart);
        self.notifications = patch.notifications.unwrap_or(self.notifications);
        self.close_to_tray_explained = patch
            .close_to_tray_explained
            .unwrap_or(self.close_to_tray_explained);
        Ok(self)
    }
}

/// Read the settings (defaults when none were saved).
pub async fn load(store: &Store) -> Result<Settings> {
    let text = crate::store::settings::get(store.pool(), KEY).await?;
    Ok(text.as_deref().map(parse).unwrap_or_default())
}

/// The settings a saved document holds, field by field: one field that cannot be read (a
/// hand edit, a newer version's change of type) falls back to its default alone, instead of
/// resetting every setting (which would, among other things, unpause background sync).
fn parse(text: &str) -> Settings {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(saved)) => from_document(saved),
        _ => {
            tracing::warn!("the saved settings are unreadable; using the defaults");
            Settings::default()
        }
    }
}

/// [`parse`], from the document already read.
fn from_document(saved: serde_json::Map<String, serde_json::Value>) -> Settings {
    if let Ok(settings) =
        serde_json::from_value::<Settings>(serde_json::Value::Object(saved.clone()))
    {
        return settings;
    }
    let mut good = serde_json::Map::new();
    for (key, value) in saved {
        let mut candidate = good.clone();
        candidate.insert(key.clone(), value);
        if serde_json::from_value::<Settings>(serde_json::Value::Object(candidate.clone())).is_ok()
        {
            good = candidate;
        } else {
            tracing::warn!(setting = %key, "a saved setting is unreadable; using its default");
        }
    }
    serde_json::from_value(serde_json::Value::Object(good)).unwrap_or_default()
}

/// Apply `patch` and save; returns the settings now in force.
pub async fn update(store: &Store, patch: &SettingsPatch, now: DateTime<Utc>) -> Result<Settings> {
    let mut tx = store.begin().await?;
    let current = crate::store::settings::get(&mut *tx, KEY).await?;
    // Keep fields this version does not know (written by a newer one).
    let mut document: serde_json::Map<String, serde_json::Value> = current
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let settings = from_document(document.clone());
    let updated = settings.apply(patch)?;
    if let serde_json::Value::Object(known) = serde_json::to_value(&updated)
        .map_err(|e| Error::Internal(format!("settings do not serialise: {e}")))?
    {
        document.extend(known);
    }
    crate::store::settings::put(
        &mut *tx,
        KEY,
        &serde_json::Value::Object(document).to_string(),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_unreadable_setting_does_not_reset_the_others() {
        // A pause saved beside an interval of the wrong type: the pause is kept.
        let settings =
            parse(r#"{"paused": true, "sync_interval_seconds": "an hour", "autostart": true}"#);
        assert!(settings.paused, "still paused");
        assert!(settings.autostart);
        assert_eq!(
            settings.sync_interval_seconds, 3600,
            "the bad field alone is the default"
        );
        assert_eq!(parse("not json"), Settings::default());
        assert!(parse(r#"{"paused": true, "from_a_newer_version": 3}"#).paused);
    }

    #[test]
    fn out_of_range_values_are_refused_and_change_nothing() {
        let settings = Settings::default();
        let too_fast = SettingsPatch {
            sync_interval_seconds: Some(1),
            ..SettingsPatch::default()
        };
        assert_eq!(
            settings.clone().apply(&too_fast).unwrap_err().code(),
            crate::ErrorCode::Validation
        );
        let pause = SettingsPatch {
            paused: Some(true),
            ..SettingsPatch::default()
        };
        let paused = settings.apply(&pause).unwrap();
        assert!(paused.paused);
        assert_eq!(paused.sync_interval_seconds, 3600, "the rest stays");
    }
}
