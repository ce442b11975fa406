//! `/healthz` (the loop makes progress), `/readyz` (worker imported, Redis reachable),
//! `/metrics` (Prometheus text) and the dashboard (`/`, with `/dashboard/state` and the
//! server-sent events of `/dashboard/events`: see [`crate::dashboard`]), on `METRICS_PORT`.
//!
//! The port is exposed in the cluster, so it is guarded: at most [`MAX_CONNECTIONS`] at once
//! (more are closed at once, so a flood cannot take the file descriptors the worker needs), a
//! request's headers must arrive within [`HEADER_TIMEOUT`] (slowloris), and when `accept` fails
//! (too many open files) the loop sleeps and backs off instead of spinning.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::dashboard::{self, Board};
use crate::metrics::Shared;

type Body = Either<Full<Bytes>, Events>;

/// The body of `/dashboard/events`: the board's updates as they are pushed, and a comment every
/// 15 s so proxies keep the connection.
pub struct Events {
    rx: tokio::sync::mpsc::Receiver<Bytes>,
}

impl hyper::body::Body for Events {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// Start streaming the board's updates to one page; `None` when [`dashboard::MAX_CLIENTS`]
/// already listen.
fn events(board: &Arc<Board>) -> Option<Events> {
    use std::sync::atomic::Ordering;
    if board.clients.fetch_add(1, Ordering::Relaxed) >= dashboard::MAX_CLIENTS {
        board.clients.fetch_sub(1, Ordering::Relaxed);
        return None;
    }
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let mut updates = board.subscribe();
    let board = board.clone();
    tokio::spawn(async move {
        let _ = tx.send(Bytes::from_static(b"retry: 2000\n\n")).await;
        let mut keepalive = tokio::time::interval(Duration::from_secs(15));
        loop {
            let next = tokio::select! {
                update = updates.recv() => match update {
                    Ok(event) => event,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = keepalive.tick() => Bytes::from_static(b": keepalive\n\n"),
            };
            if tx.send(next).await.is_err() {
                break;
            }
        }
        board.clients.fetch_sub(1, Ordering::Relaxed);
    });
    Some(Events { rx })
}

pub const MAX_CONNECTIONS: usize = 64;
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut pause = Duration::from_millis(5);
    let mut warned = false;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                pause = Duration::from_millis(5);
                stream
            }
            Err(e) => {
                // EMFILE, ENFILE, ENOBUFS...: retrying at once would spin a core.
                if !warned {
                    tracing::warn!("the HTTP port cannot accept connections ({e}): backing off");
                    warned = true;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(respond(&req, &shared)) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let _ = connection.await;
            drop(slot);
        });
    }
}

/// What the page may load: only itself (its inline style and script) and this server.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn respond(req: &Request<Incoming>, shared: &Shared) -> Response<Body> {
    if let Some(board) = &shared.board {
        match req.uri().path() {
            "/" | "/dashboard" => {
                let mut response =
                    text(StatusCode::OK, "text/html; charset=utf-8", dashboard::PAGE.to_owned());
                if let Ok(value) = PAGE_POLICY.parse() {
                    response.headers_mut().insert(hyper::header::CONTENT_SECURITY_POLICY, value);
                }
                return response;
            }
            "/dashboard/state" => return text(StatusCode::OK, "application/json", board.snapshot()),
            "/dashboard/events" => {
                let Some(stream) = events(board) else {
                    return text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain",
                        "too many dashboards open\n".into(),
                    );
                };
                let mut response = Response::new(Either::Right(stream));
                let headers = response.headers_mut();
                for (name, value) in [
                    (hyper::header::CONTENT_TYPE, "text/event-stream"),
                    (hyper::header::CACHE_CONTROL, "no-store"),
                ] {
                    if let Ok(value) = value.parse() {
                        headers.insert(name, value);
                    }
                }
                return response;
            }
            _ => {}
        }
    }
    let (status, content_type, body) = match req.uri().path() {
        "/healthz" if shared.live() => (StatusCode::OK, "text/plain", "ok\n".to_owned()),
        "/healthz" => (StatusCode::SERVICE_UNAVAILABLE, "text/plain", "the loop is stalled\n".to_owned()),
        "/readyz" => match shared.ready() {
            (true, why) => (StatusCode::OK, "text/plain", format!("{why}\n")),
            (false, why) => (StatusCode::SERVICE_UNAVAILABLE, "text/plain", format!("{why}\n")),
        },
        "/metrics" => {
            (StatusCode::OK, "application/openmetrics-text; version=1.0.0; charset=utf-8", shared.render())
        }
        _ => (StatusCode::NOT_FOUND, "text/plain", "not found\n".to_owned()),
    };
    text(status, content_type, body)
}

fn text(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(Bytes::from(body))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    if let Ok(value) = content_type.parse() {
        headers.insert(hyper::header::CONTENT_TYPE, value);
    }
    if let Ok(value) = "nosniff".parse() {
        headers.insert(hyper::header::X_CONTENT_TYPE_OPTIONS, value);
    }
    response
}
