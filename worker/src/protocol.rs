//! The framing and the messages between host and worker, typed on the host side.
//!
//! A frame is a u32 big-endian header length, a JSON header, then the payloads whose lengths the
//! header lists in `lens`, back to back. Payloads carry raw bytes (the Redis input, the
//! `json.dumps` output, pickled state), so nothing is re-encoded on the hot path. Every request
//! carries an `id` and its reply echoes it: a reply to another request (a handler that forked and
//! whose child answered too) is refused instead of being taken for this call's answer.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::InitConfig;

/// Identifies a request; its reply carries the same one.
pub type CallId = u64;

/// What the host asks of the worker.
#[derive(Debug, Clone, Copy)]
pub enum Request<'a> {
    /// Import the code and build the context.
    Init(&'a InitConfig),
    /// Call the handler with one input (the hot path).
    Call(&'a [u8]),
    /// Replace `context.env` with a pickled one (a snapshot of an earlier worker).
    RestorePickle(&'a [u8]),
    /// Replace `context.env` with a JSON document (`STATE_KEY`).
    RestoreJson(&'a [u8]),
    /// Pickle `context.env` now: the live state, handed to a new worker on hot reload.
    TakeState,
    /// The pickled size of `context.env`.
    EnvSize,
    /// Nothing but an answer.
    Ping,
}

impl Request<'_> {
    /// The operation's name on the wire.
    pub fn op(&self) -> &'static str {
        match self {
            Request::Init(_) => "init",
            Request::Call(_) => "call",
            Request::RestorePickle(_) => "restore_pickle",
            Request::RestoreJson(_) => "restore_json",
            Request::TakeState => "take_state",
            Request::EnvSize => "env_size",
            Request::Ping => "ping",
        }
    }

    /// The whole frame for this request.
    pub fn encode(&self, id: CallId) -> Vec<u8> {
        match self {
            // The hot path: a header that differs only in the id and the input's length.
            Request::Call(input) => {
                let header = format!("{{\"id\":{id},\"lens\":[{}],\"op\":\"call\"}}", input.len());
                frame(header.as_bytes(), &[input])
            }
            Request::Init(config) => {
                #[derive(Serialize)]
                struct Header<'c> {
                    id: CallId,
                    op: &'static str,
                    config: &'c InitConfig,
                    lens: [usize; 0],
                }
                let header = Header { id, op: "init", config, lens: [] };
                frame(&serde_json::to_vec(&header).unwrap_or_default(), &[])
            }
            Request::RestorePickle(p) | Request::RestoreJson(p) => {
                let header = format!("{{\"id\":{id},\"lens\":[{}],\"op\":\"{}\"}}", p.len(), self.op());
                frame(header.as_bytes(), &[p])
            }
            Request::TakeState | Request::EnvSize | Request::Ping => {
                let header = format!("{{\"id\":{id},\"lens\":[],\"op\":\"{}\"}}", self.op());
                frame(header.as_bytes(), &[])
            }
        }
    }
}

fn frame(header: &[u8], payloads: &[&[u8]]) -> Vec<u8> {
    let total = 4 + header.len() + payloads.iter().map(|p| p.len()).sum::<usize>();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(header);
    for p in payloads {
        out.extend_from_slice(p);
    }
    out
}

/// Why a request failed in the worker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailKind {
    /// The input is not JSON.
    Input,
    /// The handler raised.
    Handler,
    /// The result is not JSON, or too big.
    Output,
    /// The code does not import, or the handler is not there.
    Config,
    /// A state to restore is not usable, or `context.env` cannot be pickled.
    State,
    /// The worker itself failed (a bug or an unknown request).
    Internal,
}

/// A request that failed in the worker, with the user's traceback when the handler raised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failed {
    pub kind: FailKind,
    pub error: String,
    /// The user's frames only, with the user's file names.
    pub traceback: Option<String>,
}

/// A handler call that returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Called {
    /// Whether the result was truthy (what the course runtime writes).
    pub truthy: bool,
    /// `json.dumps(result)`, as the course runtime writes it (empty when falsy).
    pub output: Vec<u8>,
    /// `context.env` pickled after the call, when the worker took a snapshot.
    pub snapshot: Option<Vec<u8>>,
    /// `context.env` as JSON, for `STATE_KEY`.
    pub state: Option<Vec<u8>>,
    /// Why snapshots stopped (said once).
    pub snapshot_off: Option<String>,
    /// Why `context.env` could not be written as JSON (said once).
    pub state_error: Option<String>,
    /// The output holds NaN or Infinity, which strict JSON readers refuse.
    pub non_finite: bool,
}

/// A worker's answer, typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `init` done: the module's modification time, as `context.function_getmtime`.
    Ready {
        mtime: String,
    },
    Called(Called),
    /// `restore_*` or `ping` done.
    Done,
    /// `take_state`: `context.env` pickled.
    State(Vec<u8>),
    /// `env_size`: bytes of `context.env` pickled.
    EnvSize(u64),
    Failed(Failed),
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Answer {
    Ready,
    Called,
    Done,
    State,
    EnvSize,
    Failed,
}

/// The header as the worker writes it: one flat object.
#[derive(Debug, Deserialize)]
struct Header {
    id: CallId,
    reply: Answer,
    #[serde(default)]
    lens: Vec<usize>,
    #[serde(default)]
    truthy: bool,
    #[serde(default)]
    snapshot: bool,
    #[serde(default)]
    state: bool,
    #[serde(default)]
    non_finite: bool,
    #[serde(default)]
    snapshot_off: Option<String>,
    #[serde(default)]
    state_error: Option<String>,
    #[serde(default)]
    mtime: Option<String>,
    #[serde(default)]
    bytes: Option<u64>,
    #[serde(default)]
    kind: Option<FailKind>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    traceback: Option<String>,
}

/// How a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("the worker's reply is {size} bytes, over the {cap}-byte cap")]
    TooLarge { size: usize, cap: usize },
    #[error("the worker's reply is not valid: {0}")]
    Invalid(String),
}

/// Read one reply (its id and the typed answer); no part may exceed `cap` bytes in all.
pub async fn read_reply<R: AsyncRead + Unpin>(
    reader: &mut R,
    cap: usize,
) -> Result<(CallId, Reply), FrameError> {
    let mut len = [0u8; 4];
    reader.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > cap.min(1 << 20) {
        return Err(FrameError::TooLarge { size: len, cap: cap.min(1 << 20) });
    }
    let mut raw = vec![0u8; len];
    reader.read_exact(&mut raw).await?;
    let header: Header = serde_json::from_slice(&raw).map_err(|e| FrameError::Invalid(e.to_string()))?;
    let total: usize = header.lens.iter().fold(0usize, |a, b| a.saturating_add(*b));
    if total > cap {
        return Err(FrameError::TooLarge { size: total, cap });
    }
    let mut payloads = Vec::with_capacity(header.lens.len());
    for &n in &header.lens {
        let mut buf = vec![0u8; n];
        reader.read_exact(&mut buf).await?;
        payloads.push(buf);
    }
    Ok((header.id, typed(header, payloads)?))
}

fn typed(h: Header, payloads: Vec<Vec<u8>>) -> Result<Reply, FrameError> {
    let mut parts = payloads.into_iter();
    Ok(match h.reply {
        Answer::Ready => Reply::Ready { mtime: h.mtime.unwrap_or_default() },
        Answer::Done => Reply::Done,
        Answer::EnvSize => Reply::EnvSize(h.bytes.unwrap_or(0)),
        Answer::State => Reply::State(parts.next().unwrap_or_default()),
        Answer::Failed => Reply::Failed(Failed {
            kind: h.kind.unwrap_or(FailKind::Internal),
            error: h.error.unwrap_or_default(),
            traceback: h.traceback,
        }),
        Answer::Called => {
            let output =
                parts.next().ok_or_else(|| FrameError::Invalid("a call reply without output".into()))?;
            let snapshot = if h.snapshot { parts.next() } else { None };
            let state = if h.state { parts.next() } else { None };
            Reply::Called(Called {
                truthy: h.truthy,
                output,
                snapshot,
                state,
                snapshot_off: h.snapshot_off,
                state_error: h.state_error,
                non_finite: h.non_finite,
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_frame(header: &str, payloads: &[&[u8]]) -> Vec<u8> {
        frame(header.as_bytes(), payloads)
    }

    #[tokio::test]
    async fn call_replies_are_typed_with_their_payloads() {
        let f = reply_frame(
            r#"{"id":7,"reply":"called","truthy":true,"snapshot":true,"lens":[3,2]}"#,
            &[b"abc", b"pk"],
        );
        let (id, reply) = read_reply(&mut f.as_slice(), 1 << 20).await.expect("reads");
        assert_eq!(id, 7);
        let Reply::Called(c) = reply else { panic!("{reply:?}") };
        assert!(c.truthy);
        assert_eq!((c.output.as_slice(), c.snapshot.as_deref()), (&b"abc"[..], Some(&b"pk"[..])));
        assert_eq!(c.state, None);
    }

    #[tokio::test]
    async fn failures_carry_their_kind() {
        let f = reply_frame(
            r#"{"id":1,"reply":"failed","kind":"handler","error":"ZeroDivisionError: x","traceback":"tb","lens":[]}"#,
            &[],
        );
        let (_, reply) = read_reply(&mut f.as_slice(), 1 << 20).await.expect("reads");
        assert_eq!(
            reply,
            Reply::Failed(Failed {
                kind: FailKind::Handler,
                error: "ZeroDivisionError: x".into(),
                traceback: Some("tb".into())
            })
        );
    }

    #[tokio::test]
    async fn frames_over_the_cap_are_refused_before_they_are_read() {
        let f = reply_frame(r#"{"id":1,"reply":"called","truthy":true,"lens":[4096]}"#, &[&[b'x'; 4096]]);
        let err = read_reply(&mut f.as_slice(), 1024).await.expect_err("too big");
        assert!(matches!(err, FrameError::TooLarge { size: 4096, cap: 1024 }), "{err}");
    }

    #[tokio::test]
    async fn truncated_frames_are_errors() {
        let f = reply_frame(r#"{"id":1,"reply":"called","lens":[6]}"#, &[b"abcdef"]);
        assert!(read_reply(&mut &f[..f.len() - 2], 1 << 20).await.is_err());
    }

    #[test]
    fn call_frames_have_the_id_and_the_input() {
        let f = Request::Call(b"{\"a\": 1}").encode(42);
        let len = u32::from_be_bytes([f[0], f[1], f[2], f[3]]) as usize;
        let header: serde_json::Value = serde_json::from_slice(&f[4..4 + len]).expect("JSON header");
        assert_eq!(header, serde_json::json!({"id": 42, "op": "call", "lens": [8]}));
        assert_eq!(&f[4 + len..], b"{\"a\": 1}");
    }
}
