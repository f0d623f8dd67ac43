//! The real OS keyring (Secret Service). Needs a D-Bus session with an unlocked gnome-keyring:
//! `.ci/run` runs it that way (`--include-ignored` inside `dbus-run-session`).

use tributary_core::secrets::{KeyringStore, SecretStore, Sensitive};

#[tokio::test]
#[ignore = "needs a Secret Service; .ci/run runs it inside dbus-run-session with gnome-keyring"]
async fn the_real_keyring_round_trips_and_deletes() {
    let store = KeyringStore::new(format!("tributary-test-{}", std::process::id()));
    store.check().await.expect("a usable Secret Service");
    let key = "athlete-1/strava/tokens";
    assert_eq!(store.get(key).await.unwrap(), None);
    store
        .set(key, &Sensitive::new("s3cret-1".to_owned()))
        .await
        .unwrap();
    store
        .set(key, &Sensitive::new("s3cret-2".to_owned()))
        .await
        .unwrap();
    assert_eq!(
        store.get(key).await.unwrap().unwrap().expose(),
        "s3cret-2",
        "overwrite, not a second entry"
    );
    store.delete(key).await.unwrap();
    store.delete(key).await.unwrap(); // deleting a missing entry is fine
    assert_eq!(store.get(key).await.unwrap(), None);
}
