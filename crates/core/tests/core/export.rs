//! Export never overwrites and never deletes what it did not write (issue 14, defect 10).

use crate::harness::{Harness, STRAVA};
use tributary_core::domain::SyncTrigger;
use tributary_core::export::ExportFormat;
use tributary_core::sync::SyncMode;

async fn synced() -> Harness {
    let h = Harness::new(30).await;
    h.connect().await;
    h.core
        .sync(STRAVA, SyncTrigger::Manual, SyncMode::Incremental)
        .await
        .unwrap();
    h
}

#[tokio::test]
async fn export_leaves_whatever_sits_at_its_old_temporary_name_alone() {
    // The old export deleted `<dest>.partial` recursively before writing, whatever it was.
    let h = synced().await;
    let out = tempfile::tempdir().unwrap();
    for format in [ExportFormat::Csv, ExportFormat::Json, ExportFormat::Sqlite] {
        let dest = out.path().join(format!("export-{format:?}"));
        let planted = out.path().join(format!("export-{format:?}.partial"));
        std::fs::create_dir(&planted).unwrap();
        std::fs::write(planted.join("precious.txt"), "the athlete's own file").unwrap();
        let exported = h.core.export(format, &dest).await.unwrap();
        assert_eq!(exported.activities, 30, "{format:?}");
        assert_eq!(
            std::fs::read_to_string(planted.join("precious.txt")).unwrap(),
            "the athlete's own file",
            "{format:?}: not deleted"
        );
    }
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temporary left behind: {leftovers:?}"
    );
}

#[tokio::test]
async fn export_never_replaces_an_existing_path() {
    let h = synced().await;
    let out = tempfile::tempdir().unwrap();
    for format in [ExportFormat::Csv, ExportFormat::Json, ExportFormat::Sqlite] {
        let dest = out.path().join(format!("taken-{format:?}"));
        std::fs::write(&dest, "mine").unwrap();
        let err = h.core.export(format, &dest).await.unwrap_err();
        assert_eq!(
            err.code(),
            tributary_core::ErrorCode::Validation,
            "{format:?}"
        );
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "mine");
    }
}
