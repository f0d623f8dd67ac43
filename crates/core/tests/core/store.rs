//! Store operations on a real SQLite file: every function of every table module.

use crate::harness::at;
use serde_json::json;
use tributary_core::domain::{
    ConnectionProfile, ConnectionState, ConnectionUpdate, NewActivity, ProviderKind, Sport,
    SyncCounters, SyncStatus, SyncTrigger,
};
use tributary_core::store::activities::Upserted;
use tributary_core::store::{Store, activities, athletes, connections, sync_history, sync_state};

const ME: i64 = 1;

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.db")).await.unwrap();
    athletes::ensure(store.pool(), ME, "Me", at(2026, 1, 1))
        .await
        .unwrap();
    (dir, store)
}

fn profile(user: &str) -> ConnectionProfile {
    ConnectionProfile {
        provider_user_id: Some(user.to_owned()),
        username: Some(format!("{user}-name")),
        email: None,
        provider_profile: Some(json!({"id": user})),
    }
}

fn activity(id: &str, day: u32) -> NewActivity {
    NewActivity {
        provider_activity_id: id.to_owned(),
        sport: Sport::Run,
        name: Some(format!("run {id}")),
        start_utc: at(2026, 3, day),
        utc_offset_seconds: Some(3600),
        elapsed_seconds: Some(3000),
        moving_seconds: Some(2900),
        distance_m: Some(10_000.0),
        elevation_gain_m: Some(50.0),
        avg_heart_rate: Some(140.0),
        max_heart_rate: None,
        calories: None,
        avg_power_w: None,
        max_power_w: None,
        device: Some("watch".to_owned()),
        raw: json!({"id": id, "v": 1}),
    }
}

#[tokio::test]
async fn the_database_is_wal_with_foreign_keys() {
    let (_dir, store) = store().await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!((mode.as_str(), fk), ("wal", 1));
}

#[tokio::test]
async fn reconnecting_updates_the_same_row() {
    let (_dir, store) = store().await;
    let first = connections::upsert(
        store.pool(),
        ME,
        ProviderKind::Strava,
        "api",
        &profile("a"),
        &["read".into()],
        None,
        at(2026, 1, 2),
    )
    .await
    .unwrap();
    connections::set_enabled(store.pool(), first.id, false, at(2026, 1, 3))
        .await
        .unwrap();
    let again = connections::upsert(
        store.pool(),
        ME,
        ProviderKind::Strava,
        "api",
        &profile("b"),
        &["read".into(), "activity:read_all".into()],
        Some(at(2026, 1, 5)),
        at(2026, 1, 4),
    )
    .await
    .unwrap();
    assert_eq!(
        again.id, first.id,
        "the old server's upsert de-duplication: one row per provider"
    );
    assert_eq!(again.provider_user_id.as_deref(), Some("b"));
    assert_eq!(again.granted_scopes, ["read", "activity:read_all"]);
    assert!(
        again.enabled && again.state == ConnectionState::Active,
        "a reconnect switches it back on"
    );
    assert_eq!(again.created_at, at(2026, 1, 2), "creation time survives");
    assert_eq!(connections::list(store.pool(), ME).await.unwrap().len(), 1);
}

#[tokio::test]
async fn get_list_update_toggle_and_delete() {
    let (_dir, store) = store().await;
    let pool = store.pool();
    let s = connections::upsert(
        pool,
        ME,
        ProviderKind::Strava,
        "api",
        &profile("s"),
        &[],
        None,
        at(2026, 1, 1),
    )
    .await
    .unwrap();
    let w = connections::upsert(
        pool,
        ME,
        ProviderKind::Wahoo,
        "api",
        &profile("w"),
        &[],
        None,
        at(2026, 1, 1),
    )
    .await
    .unwrap();
    assert_eq!(
        connections::get(pool, w.id)
            .await
            .unwrap()
            .unwrap()
            .provider,
        ProviderKind::Wahoo
    );
    assert_eq!(
        connections::get_by_provider(pool, ME, ProviderKind::Strava)
            .await
            .unwrap()
            .unwrap()
            .id,
        s.id
    );
    assert!(
        connections::get_by_provider(pool, ME, ProviderKind::Polar)
            .await
            .unwrap()
            .is_none()
    );
    let listed: Vec<_> = connections::list(pool, ME)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.provider)
        .collect();
    assert_eq!(listed, [ProviderKind::Strava, ProviderKind::Wahoo]);

    let change = ConnectionUpdate {
        state: Some(ConnectionState::RateLimited),
        rate_limited_until: Some(Some(at(2026, 1, 9))),
        last_sync_error: Some(Some("slow down".into())),
        ..Default::default()
    };
    let updated = connections::update(pool, s.id, &change, at(2026, 1, 8))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (updated.state, updated.rate_limited_until),
        (ConnectionState::RateLimited, Some(at(2026, 1, 9)))
    );
    assert_eq!(updated.last_sync_error.as_deref(), Some("slow down"));
    let cleared = ConnectionUpdate {
        rate_limited_until: Some(None),
        ..Default::default()
    };
    let updated = connections::update(pool, s.id, &cleared, at(2026, 1, 8))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        updated.rate_limited_until, None,
        "Some(None) clears a field"
    );
    assert_eq!(
        updated.last_sync_error.as_deref(),
        Some("slow down"),
        "None leaves it alone"
    );

    let off = connections::set_enabled(pool, s.id, false, at(2026, 1, 10))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((off.enabled, off.state), (false, ConnectionState::Disabled));
    connections::record_sync(pool, s.id, at(2026, 1, 11), Some("boom"))
        .await
        .unwrap();
    let synced = connections::get(pool, s.id).await.unwrap().unwrap();
    assert_eq!(
        (synced.last_sync_at, synced.last_sync_error.as_deref()),
        (Some(at(2026, 1, 11)), Some("boom"))
    );

    assert!(connections::delete(pool, w.id).await.unwrap());
    assert!(
        !connections::delete(pool, w.id).await.unwrap(),
        "deleting twice reports nothing deleted"
    );
    assert!(
        connections::update(pool, w.id, &change, at(2026, 1, 1))
            .await
            .unwrap()
            .is_none()
    );
}

/// The database refused `result` through the CHECK whose text contains `check`.
fn refused_by_check<T: std::fmt::Debug>(result: Result<T, sqlx::Error>, check: &str) {
    let error = result.unwrap_err();
    let db = error
        .as_database_error()
        .unwrap_or_else(|| panic!("not refused by the database: {error}"));
    assert!(
        db.is_check_violation() && db.message().contains(check),
        "refused, but not by the CHECK on {check}: {db}"
    );
}

#[tokio::test]
async fn the_schema_refuses_what_the_domain_forbids() {
    let (_dir, store) = store().await;
    let bad_provider = sqlx::query(
        "INSERT INTO provider_connections (athlete_id, provider, created_at, updated_at) VALUES (1, 'myspace', 0, 0)",
    )
    .execute(store.pool())
    .await;
    refused_by_check(bad_provider, "provider IN"); // provider is a closed set
    let bad_json = sqlx::query(
        "INSERT INTO provider_connections (athlete_id, provider, provider_profile, created_at, updated_at)
         VALUES (1, 'strava', '{not json', 0, 0)",
    )
    .execute(store.pool())
    .await;
    refused_by_check(bad_json, "json_valid(provider_profile)");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM provider_connections")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(rows, 0, "nothing was written");
    // The same rows, with what the domain allows, are accepted: the refusals were the CHECKs.
    sqlx::query(
        "INSERT INTO provider_connections (athlete_id, provider, provider_profile, created_at, updated_at)
         VALUES (1, 'strava', '{\"id\": 1}', 0, 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
}

#[tokio::test]
async fn sync_runs_start_record_complete_and_page_newest_first() {
    let (_dir, store) = store().await;
    let pool = store.pool();
    let c = connections::upsert(
        pool,
        ME,
        ProviderKind::Strava,
        "api",
        &profile("s"),
        &[],
        None,
        at(2026, 1, 1),
    )
    .await
    .unwrap();
    let run = sync_history::start(pool, c.id, SyncTrigger::Manual, None, at(2026, 2, 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.status, SyncStatus::Running);
    assert!(
        sync_history::start(pool, c.id, SyncTrigger::Scheduled, None, at(2026, 2, 1))
            .await
            .unwrap()
            .is_none(),
        "one running run per connection, enforced by the database"
    );
    let page = SyncCounters {
        fetched: 5,
        created: 3,
        updated: 1,
        skipped: 0,
        failed: 1,
        deleted: 0,
    };
    sync_history::record_page(
        pool,
        run.id,
        &page,
        2,
        Some(90),
        Some("{\"before\":1}"),
        at(2026, 2, 1),
    )
    .await
    .unwrap();
    let done = sync_history::complete(
        pool,
        run.id,
        SyncStatus::Partial,
        2,
        None,
        Some(("1 bad record", tributary_core::ErrorCode::Provider)),
        at(2026, 2, 2),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(done.counters, page);
    assert_eq!(
        (done.api_calls, done.rate_limit_remaining),
        (2, Some(90)),
        "remaining kept when the end reports none"
    );
    assert_eq!(done.completed_at, Some(at(2026, 2, 2)));
    assert!(
        sync_history::complete(
            pool,
            run.id,
            SyncStatus::Success,
            0,
            None,
            None,
            at(2026, 2, 3)
        )
        .await
        .unwrap()
        .is_none(),
        "a finished run is never overwritten"
    );
    let late = sync_history::record_page(pool, run.id, &page, 0, None, None, at(2026, 2, 3))
        .await
        .unwrap_err();
    assert!(
        matches!(&late, tributary_core::Error::Internal(m) if m.contains("no longer running")),
        "a page for a finished run is refused as such: {late:?}"
    );
    let kept = sync_history::get(pool, run.id).await.unwrap().unwrap();
    assert_eq!(
        (kept.status, kept.counters, kept.api_calls),
        (SyncStatus::Partial, page, 2),
        "nothing was written into the finished run"
    );
    assert_eq!(
        sync_history::get(pool, run.id)
            .await
            .unwrap()
            .unwrap()
            .cursor
            .as_deref(),
        Some("{\"before\":1}"),
        "the run records the cursor it reached"
    );

    for day in 3..=6 {
        let r = sync_history::start(pool, c.id, SyncTrigger::Scheduled, None, at(2026, 2, day))
            .await
            .unwrap()
            .unwrap();
        sync_history::complete(
            pool,
            r.id,
            SyncStatus::Success,
            1,
            None,
            None,
            at(2026, 2, day),
        )
        .await
        .unwrap();
    }
    let newest = sync_history::history(pool, c.id, 2, 0).await.unwrap();
    assert_eq!(
        newest.iter().map(|r| r.started_at).collect::<Vec<_>>(),
        [at(2026, 2, 6), at(2026, 2, 5)]
    );
    let older = sync_history::history(pool, c.id, 2, 2).await.unwrap();
    assert_eq!(
        older.iter().map(|r| r.started_at).collect::<Vec<_>>(),
        [at(2026, 2, 4), at(2026, 2, 3)]
    );
    assert_eq!(
        sync_history::latest(pool, c.id)
            .await
            .unwrap()
            .unwrap()
            .started_at,
        at(2026, 2, 6)
    );
}

#[tokio::test]
async fn counters_that_do_not_add_up_are_refused() {
    let (_dir, store) = store().await;
    let c = connections::upsert(
        store.pool(),
        ME,
        ProviderKind::Strava,
        "api",
        &profile("s"),
        &[],
        None,
        at(2026, 1, 1),
    )
    .await
    .unwrap();
    let run = sync_history::start(
        store.pool(),
        c.id,
        SyncTrigger::Manual,
        None,
        at(2026, 2, 1),
    )
    .await
    .unwrap()
    .unwrap();
    let lie = SyncCounters {
        fetched: 5,
        created: 1,
        updated: 0,
        skipped: 0,
        failed: 0,
        deleted: 0,
    };
    let refused = sync_history::record_page(
        store.pool(),
        run.id,
        &lie,
        1,
        Some(7),
        Some("{\"before\":1}"),
        at(2026, 2, 1),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), tributary_core::ErrorCode::Internal);
    // fetched = created + updated + skipped + failed is a CHECK: the database said no, for that.
    match refused {
        tributary_core::Error::Db(e) => refused_by_check(Err::<(), _>(e), "activities_fetched"),
        other => panic!("not refused by the database: {other:?}"),
    }
    let row = sync_history::get(store.pool(), run.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            row.status,
            row.counters,
            row.api_calls,
            row.rate_limit_remaining,
            row.cursor
        ),
        (SyncStatus::Running, SyncCounters::default(), 0, None, None),
        "nothing was written"
    );
    // The same page, counted honestly, is accepted.
    let honest = SyncCounters { skipped: 4, ..lie };
    sync_history::record_page(store.pool(), run.id, &honest, 1, None, None, at(2026, 2, 1))
        .await
        .unwrap();
}

#[tokio::test]
async fn upserts_count_created_updated_and_skipped() {
    let (_dir, store) = store().await;
    let c = connections::upsert(
        store.pool(),
        ME,
        ProviderKind::Strava,
        "api",
        &profile("s"),
        &[],
        None,
        at(2026, 1, 1),
    )
    .await
    .unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    let a = activity("1", 1);
    assert_eq!(
        activities::upsert(&mut conn, c.id, ProviderKind::Strava, &a, at(2026, 3, 2))
            .await
            .unwrap(),
        Upserted::Created
    );
    assert_eq!(
        activities::upsert(&mut conn, c.id, ProviderKind::Strava, &a, at(2026, 3, 3))
            .await
            .unwrap(),
        Upserted::Skipped
    );
    let mut edited = a.clone();
    edited.name = Some("renamed".into());
    edited.raw = json!({"id": "1", "v": 2});
    assert_eq!(
        activities::upsert(
            &mut conn,
            c.id,
            ProviderKind::Strava,
            &edited,
            at(2026, 3, 4)
        )
        .await
        .unwrap(),
        Upserted::Updated
    );
    activities::upsert(
        &mut conn,
        c.id,
        ProviderKind::Strava,
        &activity("2", 5),
        at(2026, 3, 5),
    )
    .await
    .unwrap();
    drop(conn);

    assert_eq!(
        activities::count(store.pool(), None).await.unwrap(),
        2,
        "unique on (provider, id)"
    );
    let listed = activities::list(store.pool(), Some(ProviderKind::Strava), 10, 0)
        .await
        .unwrap();
    assert_eq!(listed[0].data.provider_activity_id, "2", "newest first");
    assert_eq!(listed[1].data.name.as_deref(), Some("renamed"));
    assert_eq!(listed[1].data.raw["v"], 2);
    assert!(
        activities::list(store.pool(), Some(ProviderKind::Polar), 10, 0)
            .await
            .unwrap()
            .is_empty()
    );
    let ids: Vec<i64> = listed.iter().map(|a| a.id).collect();
    assert_eq!(activities::delete_ids(store.pool(), &ids).await.unwrap(), 2);
    assert_eq!(activities::count(store.pool(), None).await.unwrap(), 0);
}

#[tokio::test]
async fn deleting_a_connection_cascades_to_its_history_and_detaches_activities() {
    let (_dir, store) = store().await;
    let pool = store.pool();
    let c = connections::upsert(
        pool,
        ME,
        ProviderKind::Strava,
        "api",
        &profile("s"),
        &[],
        None,
        at(2026, 1, 1),
    )
    .await
    .unwrap();
    let run = sync_history::start(pool, c.id, SyncTrigger::Manual, None, at(2026, 2, 1))
        .await
        .unwrap()
        .unwrap();
    sync_history::record_failure(pool, run.id, Some("9"), "no start")
        .await
        .unwrap();
    assert_eq!(
        sync_history::failures(pool, run.id).await.unwrap(),
        [(Some("9".to_owned()), "no start".to_owned())]
    );
    let mut conn = pool.acquire().await.unwrap();
    activities::upsert(
        &mut conn,
        c.id,
        ProviderKind::Strava,
        &activity("1", 1),
        at(2026, 3, 1),
    )
    .await
    .unwrap();
    drop(conn);

    assert!(connections::delete(pool, c.id).await.unwrap());
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sync_history")
        .fetch_one(pool)
        .await
        .unwrap();
    let failures: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sync_failures")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        (runs, failures),
        (0, 0),
        "history and its failure reasons go with the connection"
    );
    let kept: Option<i64> = sqlx::query_scalar("SELECT connection_id FROM activities")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(
        kept, None,
        "activities stay (detached) unless the athlete asks to delete them"
    );
}

#[tokio::test]
async fn reopening_a_database_keeps_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let store = Store::open(&path).await.unwrap();
        athletes::ensure(store.pool(), ME, "Me", at(2026, 1, 1))
            .await
            .unwrap();
        connections::upsert(
            store.pool(),
            ME,
            ProviderKind::Strava,
            "api",
            &profile("s"),
            &[],
            None,
            at(2026, 1, 1),
        )
        .await
        .unwrap();
        store.close().await;
    }
    let store = Store::open(&path).await.unwrap();
    assert_eq!(
        connections::list(store.pool(), ME).await.unwrap().len(),
        1,
        "migrations are idempotent"
    );
}

#[tokio::test]
async fn sync_state_round_trips_and_cascades_with_its_connection() {
    let (_dir, store) = store().await;
    let pool = store.pool();
    athletes::ensure(pool, 1, "Me", at(2026, 1, 1))
        .await
        .unwrap();
    let c = connections::upsert(
        pool,
        1,
        ProviderKind::Strava,
        "api",
        &profile("u1"),
        &[],
        None,
        at(2026, 1, 1),
    )
    .await
    .unwrap();
    assert_eq!(sync_state::get(pool, c.id).await.unwrap(), None);
    let state = sync_state::SyncState {
        account: Some("u1".into()),
        mark: Some(at(2026, 1, 5)),
        walk_cursor: Some("{\"before\":9}".into()),
        walk_mark: Some(at(2026, 1, 6)),
        full_cursor: None,
        full_started_at: None,
        position: Some("42".into()),
        last_full_at: Some(at(2026, 1, 2)),
    };
    let mut conn = pool.acquire().await.unwrap();
    sync_state::put(&mut conn, c.id, &state, at(2026, 1, 7))
        .await
        .unwrap();
    drop(conn);
    assert_eq!(sync_state::get(pool, c.id).await.unwrap(), Some(state));
    connections::delete(pool, c.id).await.unwrap();
    assert_eq!(
        sync_state::get(pool, c.id).await.unwrap(),
        None,
        "the state goes with its connection"
    );
}

#[tokio::test]
async fn credential_fields_in_provider_payloads_are_never_stored() {
    let (_dir, store) = store().await;
    let mut p = profile("a");
    p.provider_profile = Some(
        json!({"id": "a", "access_token": "sbx-at-1", "nested": {"refreshToken": "sbx-rt-1"}}),
    );
    let c = connections::upsert(
        store.pool(),
        ME,
        ProviderKind::Strava,
        "api",
        &p,
        &["read".into()],
        None,
        at(2026, 1, 2),
    )
    .await
    .unwrap();
    let mut a = activity("x", 3);
    a.raw =
        json!({"id": "x", "name": "run", "laps": [{"api_key": "k", "n": 1}], "Client-Secret": "s"});
    let mut db = store.pool().acquire().await.unwrap();
    activities::upsert(&mut db, c.id, ProviderKind::Strava, &a, at(2026, 3, 4))
        .await
        .unwrap();
    let (raw, profile): (String, String) = sqlx::query_as(
        "SELECT a.raw_json, c.provider_profile FROM activities a, provider_connections c",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(raw, r#"{"id":"x","laps":[{"n":1}],"name":"run"}"#);
    assert_eq!(profile, r#"{"id":"a","nested":{}}"#);
}

#[cfg(unix)]
#[tokio::test]
async fn the_data_directory_and_the_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let store = Store::open(&data.join("t.db")).await.unwrap();
    athletes::ensure(store.pool(), ME, "Me", at(2026, 1, 1))
        .await
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("t.db")), 0o600);
}

/// Undo the newest migration by hand, so that the next open has one to apply.
async fn one_migration_behind(path: &std::path::Path) -> i64 {
    let store = Store::open(path).await.unwrap();
    let pool = store.pool();
    for sql in [
        "DROP INDEX activities_by_connection_account",
        "ALTER TABLE activities DROP COLUMN account",
        "DROP INDEX sync_history_by_connection_id",
        "DELETE FROM _sqlx_migrations WHERE version = 20261206000000",
    ] {
        sqlx::query(sql).execute(pool).await.unwrap();
    }
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(pool)
        .await
        .unwrap();
    store.close().await;
    applied
}

#[tokio::test]
async fn a_backup_left_by_a_killed_start_never_stops_the_next() {
    // Issue 14, defect 13: the pre-migration copy refused to write over a leftover
    // `<db>.bak-N`, so one kill during it made the app unable to start.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tributary.db");
    let applied = one_migration_behind(&path).await;
    let backup = path.with_extension(format!("db.bak-{applied}"));
    std::fs::write(&backup, b"half a copy, cut short by a kill").unwrap();
    let store = Store::open(&path)
        .await
        .expect("starts despite the leftover");
    // The backup, read as it is (opening it with the store would create or migrate it): the
    // database from before the migration, whole.
    assert!(backup.exists());
    let copy = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&backup)
            .read_only(true),
    )
    .await
    .unwrap();
    let copied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(
        copied, applied,
        "the backup is the schema before the migration"
    );
    let old_shape: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pragma_table_info('activities') WHERE name = 'account'",
    )
    .fetch_one(&copy)
    .await
    .unwrap();
    assert_eq!(old_shape, 0, "taken before the migration ran");
    copy.close().await;
    let migrated: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM pragma_table_info('activities') WHERE name = 'account'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!(migrated, 1, "and the migration ran");
}

#[tokio::test]
async fn two_processes_opening_a_new_database_at_once_both_start() {
    // Issue 14, defect 13: sqlx takes no lock on SQLite; two starts raced the same migrations.
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tributary.db");
        let (a, b) = tokio::join!(Store::open(&path), Store::open(&path));
        a.unwrap();
        b.unwrap();
    }
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused_plainly_and_left_alone() {
    // Issue 14, defect 15: an older binary on a newer database failed inside the migrator,
    // with only a log line in the desktop app.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tributary.db");
    let store = Store::open(&path).await.unwrap();
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (29991231000000, 'from the future', 1, x'00', 0)",
    )
    .execute(store.pool())
    .await
    .unwrap();
    store.close().await;
    let err = Store::open(&path).await.unwrap_err();
    assert_eq!(err.code(), tributary_core::ErrorCode::DatabaseTooNew);
    assert!(
        err.to_string().contains("newer version of Tributary"),
        "{err}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".bak-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "nothing copied or changed: {leftovers:?}"
    );
}

#[tokio::test]
async fn copies_of_an_older_door_take_the_new_ids_nearest_first_live_first_by_utc_or_local_time() {
    let (_dir, store) = store().await;
    let mut db = store.pool().acquire().await.unwrap();
    let c = connections::upsert(
        store.pool(),
        ME,
        ProviderKind::Polar,
        "v3",
        &profile("p"),
        &[],
        None,
        at(2026, 3, 1),
    )
    .await
    .unwrap();
    let base = at(2026, 3, 10);
    let copy = |id: &str, start: chrono::DateTime<chrono::Utc>, offset: i32| NewActivity {
        start_utc: start,
        utc_offset_seconds: Some(offset),
        ..activity(id, 10)
    };
    // What v3 brought: a copy of a run that Polar since deleted, the run at 10:00 UTC (local
    // 12:00, UTC+2), a ride 50 s later, and an evening run.
    let v3 = [
        copy("old-run-deleted", base, 7200),
        copy("old-run", base, 7200),
        copy("old-ride", base + chrono::Duration::seconds(50), 7200),
        copy("old-evening", base + chrono::Duration::hours(8), 7200),
    ];
    let refs: Vec<&NewActivity> = v3.iter().collect();
    activities::upsert_page(
        &mut db,
        c.id,
        ProviderKind::Polar,
        &refs,
        None,
        at(2026, 3, 11),
    )
    .await
    .unwrap();
    sqlx::query(
        "UPDATE activities SET deleted_at = 1 WHERE provider_activity_id = 'old-run-deleted'",
    )
    .execute(&mut *db)
    .await
    .unwrap();
    // A recording the old door had none of, and the figures the triggers keep.
    let evening: i64 =
        sqlx::query_scalar("SELECT id FROM activities WHERE provider_activity_id = 'old-evening'")
            .fetch_one(&mut *db)
            .await
            .unwrap();
    sqlx::query(
        "INSERT INTO recordings (activity_id, status, reason, attempts, updated_at)
         VALUES (?1, 'none', 'v3 had no file', 1, 0)",
    )
    .bind(evening)
    .execute(&mut *db)
    .await
    .unwrap();
    // The connection moves to v4. Its list: the ride first, 20 s after the run (nearer the run's
    // copy than its own: only pairing nearest first across the page gives each its own), the
    // run, and the evening run placed by a guessed offset (UTC+1: an hour off in UTC, the same
    // local 20:00).
    sqlx::query("UPDATE provider_connections SET door = 'v4' WHERE id = ?1")
        .bind(c.id)
        .execute(&mut *db)
        .await
        .unwrap();
    let v4 = [
        copy("new-ride", base + chrono::Duration::seconds(20), 7200),
        copy("new-run", base, 7200),
        copy("new-evening", base + chrono::Duration::hours(9), 3600),
        copy("new-unrelated", base + chrono::Duration::days(2), 7200),
    ];
    let refs: Vec<&NewActivity> = v4.iter().collect();
    let moved =
        activities::rekey_from_older_doors(&mut db, c.id, ProviderKind::Polar, &["v3"], &refs)
            .await
            .unwrap();
    assert_eq!(moved, 3);
    let ids: Vec<(String, Option<String>, bool)> = sqlx::query_as(
        "SELECT provider_activity_id, door, deleted_at IS NOT NULL FROM activities ORDER BY id",
    )
    .fetch_all(&mut *db)
    .await
    .unwrap();
    assert_eq!(
        ids,
        [
            ("old-run-deleted".into(), Some("v3".into()), true),
            ("new-run".into(), Some("v4".into()), false),
            ("new-ride".into(), Some("v4".into()), false),
            ("new-evening".into(), Some("v4".into()), false),
        ],
        "the live run, not its deleted twin; the ride to the ride; the evening by local time"
    );
    let recordings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM recordings")
        .fetch_one(&mut *db)
        .await
        .unwrap();
    assert_eq!(recordings, 0, "asked for again through the new door");
    let kept = tributary_core::store::recordings::counts(&mut *db, c.id)
        .await
        .unwrap();
    let rows = tributary_core::store::recordings::counts_from_rows(&mut *db, c.id)
        .await
        .unwrap();
    assert_eq!(
        (kept.none, kept.pending),
        (rows.none, rows.pending),
        "the kept figures follow"
    );
    // Nothing left of the old door but the deleted copy: listing it again changes nothing.
    assert_eq!(
        activities::rekey_from_older_doors(&mut db, c.id, ProviderKind::Polar, &["v3"], &refs)
            .await
            .unwrap(),
        0
    );
}
