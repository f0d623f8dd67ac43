//! A blank Tauri 2 window, nothing else: the baseline for the tray-idle footprint measurement
//! (scripts/e2e.sh measures its PSS beside the app's, in the same run, same build profile).

#![allow(clippy::expect_used, missing_docs)]

fn main() {
    let mut context = tauri::generate_context!();
    // Not the app's window and UI: one window on an empty page.
    context.config_mut().app.windows.clear();
    tauri::Builder::default()
        .setup(|app| {
            tauri::WebviewWindowBuilder::new(
                app,
                "blank",
                tauri::WebviewUrl::External("about:blank".parse().expect("a URL")),
            )
            .title("blank")
            .inner_size(1100.0, 760.0)
            .build()?;
            Ok(())
        })
        .run(context)
        .expect("the blank window runs");
}
