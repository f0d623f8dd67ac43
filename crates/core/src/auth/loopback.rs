//! The RFC 8252 loopback listener: a one-flow HTTP server on `127.0.0.1` (and `::1` on the same
//! port, since `localhost` may resolve there in the browser), on a random port, serving only
//! `/callback`. It hands each callback's query to the flow and answers the browser with the page
//! the flow returns; it is closed when the flow ends.

use crate::{Error, Result};
use axum::extract::{RawQuery, State};
use axum::response::Html;
use axum::routing::get;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// How long closing waits for connections still in flight (a browser's is done in
/// milliseconds).
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// A callback the browser delivered: its query, and where to send the page to show.
pub(crate) struct Callback {
    /// The raw query string (without `?`).
    pub query: String,
    /// The page's text for the browser.
    pub reply: oneshot::Sender<String>,
}

/// A bound listener.
pub(crate) struct Loopback {
    port: u16,
    callbacks: mpsc::Receiver<Callback>,
    stop: CancellationToken,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl Loopback {
    /// Bind `port` (a random one when None) on 127.0.0.1 (and ::1 when possible) and start
    /// serving.
    pub async fn bind(port: Option<u16>) -> Result<Self> {
        let v4 = tokio::net::TcpListener::bind(SocketAddr::from((
            Ipv4Addr::LOCALHOST,
            port.unwrap_or(0),
        )))
        .await
        .map_err(|e| match port {
            Some(p) => Error::io(
                format!(
                    "cannot open loopback port {p} for the sign-in (the provider accepts only \
                     this registered port; another sign-in may be using it)"
                ),
                e,
            ),
            None => Error::io("cannot open a loopback port for the sign-in", e),
        })?;
        let port = v4
            .local_addr()
            .map_err(|e| Error::io("loopback port", e))?
            .port();
        let v6 = tokio::net::TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port)))
            .await
            .ok();
        let (tx, callbacks) = mpsc::channel::<Callback>(4);
        let app = axum::Router::new()
            .route("/callback", get(callback))
            .with_state(tx);
        let stop = CancellationToken::new();
        let mut servers = Vec::new();
        for listener in std::iter::once(v4).chain(v6) {
            let (app, stop) = (app.clone(), stop.clone());
            servers.push(tokio::spawn(async move {
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await;
                if let Err(e) = served {
                    tracing::warn!(error = %e, "loopback listener failed");
                }
            }));
        }
        Ok(Self {
            port,
            callbacks,
            stop,
            servers,
        })
    }

    /// The port the listener is on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The next callback the browser delivers (`None` once the listener stopped).
    pub async fn next(&mut self) -> Option<Callback> {
        self.callbacks.recv().await
    }

    /// Stop serving and wait (briefly) for the servers to end. A graceful shutdown waits for
    /// the connections in flight, and any local program can open one and send half a request:
    /// after a short grace the servers are aborted, so that no client can hold `connect` open.
    pub async fn close(self) {
        self.stop.cancel();
        for mut server in self.servers {
            // A listener that failed was already logged.
            if tokio::time::timeout(CLOSE_GRACE, &mut server)
                .await
                .is_err()
            {
                tracing::debug!("a loopback client kept its connection open; closing it");
                server.abort();
            }
        }
    }
}

async fn callback(
    State(tx): State<mpsc::Sender<Callback>>,
    RawQuery(query): RawQuery,
) -> Html<String> {
    let (reply, page_text) = oneshot::channel();
    let delivered = tx
        .send(Callback {
            query: query.unwrap_or_default(),
            reply,
        })
        .await;
    if delivered.is_err() {
        return page("This sign-in is already finished.");
    }
    page(
        &page_text
            .await
            .unwrap_or_else(|_| "Tributary stopped waiting.".to_owned()),
    )
}

/// A minimal page for the browser, with the message escaped.
pub(crate) fn page(message: &str) -> Html<String> {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    Html(format!(
        "<!doctype html><meta charset=utf-8><title>Tributary</title>\
         <body style=\"font-family:sans-serif;margin:3em\"><p>{escaped}</p></body>"
    ))
}
