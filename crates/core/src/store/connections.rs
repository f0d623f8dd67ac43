//! `provider_connections`: one row per (athlete, provider). Tokens are never here.

use super::{from_ms, parse_enum, to_ms};
use crate::Result;
use crate::domain::{
    Connection, ConnectionProfile, ConnectionState, ConnectionUpdate, ProviderKind,
};
use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    athlete_id: i64,
    provider: String,
    provider_user_id: Option<String>,
    username: Option<String>,
    email: Option<String>,
    provider_profile: Option<String>,
    granted_scopes: String,
    token_expires_at: Option<i64>,
    enabled: i64,
    state: String,
    rate_limited_until: Option<i64>,
    last_sync_at: Option<i64>,
    last_sync_error: Option<String>,
    created_at: i64,
    updated_at: i64,
    door: Option<String>,
    generation: i64,
}

impl Row {
    fn into_domain(self) -> Result<Connection> {
        Ok(Connection {
            id: self.id,
            athlete_id: self.athlete_id,
            provider: parse_enum("provider", &self.provider)?,
            provider_user_id: self.provider_user_id,
            username: self.username,
            email: self.email,
            // The column is CHECKed with json_valid, so this parse cannot fail on our own writes.
            provider_profile: self
                .provider_profile
                .and_then(|p| serde_json::from_str(&p).ok()),
            granted_scopes: split_scopes(&self.granted_scopes),
            token_expires_at: self.token_expires_at.map(from_ms),
            enabled: self.enabled != 0,
            state: parse_enum("state", &self.state)?,
            rate_limited_until: self.rate_limited_until.map(from_ms),
            last_sync_at: self.last_sync_at.map(from_ms),
            last_sync_error: self.last_sync_error,
            created_at: from_ms(self.created_at),
            updated_at: from_ms(self.updated_at),
            door: self.door,
            generation: self.generation,
        })
    }
}

fn split_scopes(scopes: &str) -> Vec<String> {
    scopes.split_whitespace().map(str::to_owned).collect()
}

/// The column list, as a literal so statements stay `&'static str` (sqlx 0.9 refuses
/// runtime-built SQL unless asserted safe).
macro_rules! connection_columns {
    () => {
        "id, athlete_id, provider, provider_user_id, username, email, provider_profile, granted_scopes, token_expires_at, enabled, state, rate_limited_until, last_sync_at, last_sync_error, created_at, updated_at, door, generation"
    };
}

/// All connections of an athlete, in provider order.
pub async fn list(db: impl SqliteExecutor<'_>, athlete_id: i64) -> Result<Vec<Connection>> {
    let rows: Vec<Row> = sqlx::query_as(concat!(
        "SELECT ",
        connection_columns!(),
        " FROM provider_connections WHERE athlete_id = ?1 ORDER BY provider"
    ))
    .bind(athlete_id)
    .fetch_all(db)
    .await?;
    rows.into_iter().map(Row::into_domain).collect()
}

/// One connection by id.
pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> Result<Option<Connection>> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT ",
        connection_columns!(),
        " FROM provider_connections WHERE id = ?1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
    row.map(Row::into_domain).transpose()
}

/// An athlete's connection to one provider.
pub async fn get_by_provider(
    db: impl SqliteExecutor<'_>,
    athlete_id: i64,
    provider: ProviderKind,
) -> Result<Option<Connection>> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT ",
        connection_columns!(),
        " FROM provider_connections WHERE athlete_id = ?1 AND provider = ?2"
    ))
    .bind(athlete_id)
    .bind(provider.as_str())
    .fetch_optional(db)
    .await?;
    row.map(Row::into_domain).transpose()
}

/// Create the connection, or update the existing row when the provider is connected again.
/// A (re)connect switches the connection on, makes it `active`, clears old errors and puts it on
/// the door it was made through.
#[allow(clippy::too_many_arguments)]
pub async fn upsert(
    db: impl SqliteExecutor<'_>,
    athlete_id: i64,
    provider: ProviderKind,
    door: &str,
    profile: &ConnectionProfile,
    granted_scopes: &[String],
    token_expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Connection> {
    let row: Row = sqlx::query_as(concat!("INSERT INTO provider_connections (athlete_id, provider, provider_user_id, username, email,
             provider_profile, granted_scopes, token_expires_at, enabled, state, created_at, updated_at, door)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, 'active', ?9, ?9, ?10)
         ON CONFLICT (athlete_id, provider) DO UPDATE SET
             provider_user_id = excluded.provider_user_id,
             username = excluded.username,
             email = excluded.email,
             provider_profile = excluded.provider_profile,
             granted_scopes = excluded.granted_scopes,
             token_expires_at = excluded.token_expires_at,
             enabled = 1,
             state = 'active',
             rate_limited_until = NULL,
             last_sync_error = NULL,
             updated_at = excluded.updated_at,
             door = excluded.door,
             generation = generation + 1
         RETURNING ", connection_columns!(), ""))
    .bind(athlete_id)
    .bind(provider.as_str())
    .bind(&profile.provider_user_id)
    .bind(&profile.username)
    .bind(&profile.email)
    .bind(profile.provider_profile.as_ref().map(super::scrubbed))
    .bind(granted_scopes.join(" "))
    .bind(token_expires_at.map(to_ms))
    .bind(to_ms(now))
    .bind(door)
    .fetch_one(db)
    .await?;
    row.into_domain()
}

/// Apply a partial update; returns the updated row, or `None` if there is no such connection.
pub async fn update(
    db: impl SqliteExecutor<'_>,
    id: i64,
    change: &ConnectionUpdate,
    now: DateTime<Utc>,
) -> Result<Option<Connection>> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "UPDATE provider_connections SET
             state = COALESCE(?2, state),
             rate_limited_until = CASE WHEN ?3 THEN ?4 ELSE rate_limited_until END,
             granted_scopes = COALESCE(?5, granted_scopes),
             token_expires_at = CASE WHEN ?6 THEN ?7 ELSE token_expires_at END,
             last_sync_error = CASE WHEN ?8 THEN ?9 ELSE last_sync_error END,
             updated_at = ?10
         WHERE id = ?1
         RETURNING ",
        connection_columns!(),
        ""
    ))
    .bind(id)
    .bind(change.state.map(ConnectionState::as_str))
    .bind(change.rate_limited_until.is_some())
    .bind(change.rate_limited_until.flatten().map(to_ms))
    .bind(change.granted_scopes.as_ref().map(|s| s.join(" ")))
    .bind(change.token_expires_at.is_some())
    .bind(change.token_expires_at.flatten().map(to_ms))
    .bind(change.last_sync_error.is_some())
    .bind(change.last_sync_error.clone().flatten())
    .bind(to_ms(now))
    .fetch_optional(db)
    .await?;
    row.map(Row::into_domain).transpose()
}

/// Switch a connection on (`active`) or off (`disabled`).
pub async fn set_enabled(
    db: impl SqliteExecutor<'_>,
    id: i64,
    enabled: bool,
    now: DateTime<Utc>,
) -> Result<Option<Connection>> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "UPDATE provider_connections
         SET enabled = ?2, state = CASE WHEN ?2 THEN 'active' ELSE 'disabled' END, updated_at = ?3,
             rate_limited_until = NULL, generation = generation + 1
         WHERE id = ?1
         RETURNING ",
        connection_columns!(),
        ""
    ))
    .bind(id)
    .bind(enabled)
    .bind(to_ms(now))
    .fetch_optional(db)
    .await?;
    row.map(Row::into_domain).transpose()
}

/// Set the state decided by someone who read the connection at `generation` (a run that started
/// then): written only if nobody changed who decides the state since (a toggle, a reconnect,
/// another run's end). Returns the updated row, or `None` when the generation moved on.
pub async fn set_state_if(
    db: impl SqliteExecutor<'_>,
    id: i64,
    generation: i64,
    state: ConnectionState,
    rate_limited_until: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<Connection>> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "UPDATE provider_connections
         SET state = ?3, rate_limited_until = ?4, updated_at = ?5, generation = generation + 1
         WHERE id = ?1 AND generation = ?2 AND enabled = 1
         RETURNING ",
        connection_columns!(),
        ""
    ))
    .bind(id)
    .bind(generation)
    .bind(state.as_str())
    .bind(rate_limited_until.map(to_ms))
    .bind(to_ms(now))
    .fetch_optional(db)
    .await?;
    row.map(Row::into_domain).transpose()
}

/// Whether a connection is still there and switched on (a run checks it with every page).
pub async fn is_enabled(db: impl SqliteExecutor<'_>, id: i64) -> Result<bool> {
    let enabled: Option<i64> =
        sqlx::query_scalar("SELECT enabled FROM provider_connections WHERE id = ?1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(enabled == Some(1))
}

/// The door connection `id` is on now (`None`: the legacy door, or no such connection).
pub async fn door(db: impl SqliteExecutor<'_>, id: i64) -> Result<Option<String>> {
    let door: Option<Option<String>> =
        sqlx::query_scalar("SELECT door FROM provider_connections WHERE id = ?1")
            .bind(id)
            .fetch_optional(db)
            .await?;
    Ok(door.flatten())
}

/// Record the end of a sync run on the connection.
pub async fn record_sync(
    db: impl SqliteExecutor<'_>,
    id: i64,
    finished_at: DateTime<Utc>,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE provider_connections SET last_sync_at = ?2, last_sync_error = ?3, updated_at = ?2
         WHERE id = ?1",
    )
    .bind(id)
    .bind(to_ms(finished_at))
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// Delete a connection (its sync history and activities go with it, by cascade).
pub async fn delete(db: impl SqliteExecutor<'_>, id: i64) -> Result<bool> {
    let done = sqlx::query("DELETE FROM provider_connections WHERE id = ?1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The keyring slot `provider`'s connection keeps its tokens in (`None`: no connection).
pub async fn token_slot(
    db: impl SqliteExecutor<'_>,
    athlete_id: i64,
    provider: ProviderKind,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT token_slot FROM provider_connections WHERE athlete_id = ?1 AND provider = ?2",
    )
    .bind(athlete_id)
    .bind(provider.as_str())
    .fetch_optional(db)
    .await?)
}

/// Point the connection at the tokens in `slot` (a reconnect's new grant).
pub async fn set_token_slot(db: impl SqliteExecutor<'_>, id: i64, slot: i64) -> Result<()> {
    sqlx::query("UPDATE provider_connections SET token_slot = ?2 WHERE id = ?1")
        .bind(id)
        .bind(slot)
        .execute(db)
        .await?;
    Ok(())
}
