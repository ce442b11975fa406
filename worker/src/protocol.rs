//! Framing between host and worker: a u32 big-endian header length, a JSON header listing the
//! payload lengths in `lens`, then the payloads. Payloads carry raw bytes (the Redis input, the
//! `json.dumps` output, pickled state) so nothing is re-encoded on the hot path.

use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Upper bound on one frame's parts, so a confused peer cannot make us allocate without limit.
pub const MAX_PART: usize = 1 << 30;

pub fn encode(header: &serde_json::Value, payloads: &[&[u8]]) -> Vec<u8> {
    let mut header = header.clone();
    if let Some(obj) = header.as_object_mut() {
        obj.insert("lens".into(), payloads.iter().map(|p| p.len()).collect::<Vec<_>>().into());
    }
    let raw = serde_json::to_vec(&header).unwrap_or_default();
    let total = 4 + raw.len() + payloads.iter().map(|p| p.len()).sum::<usize>();
    let mut frame = Vec::with_capacity(total);
    frame.extend_from_slice(&(raw.len() as u32).to_be_bytes());
    frame.extend_from_slice(&raw);
    for p in payloads {
        frame.extend_from_slice(p);
    }
    frame
}

/// A `call` frame: the header differs only in the input's length.
pub fn encode_call(input: &[u8]) -> Vec<u8> {
    let header = format!("{{\"lens\":[{}],\"op\":\"call\"}}", input.len());
    let mut frame = Vec::with_capacity(4 + header.len() + input.len());
    frame.extend_from_slice(&(header.len() as u32).to_be_bytes());
    frame.extend_from_slice(header.as_bytes());
    frame.extend_from_slice(input);
    frame
}

/// A worker's answer.
#[derive(Debug, Default, Deserialize)]
pub struct Reply {
    pub ok: bool,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub traceback: Option<String>,
    #[serde(default)]
    pub truthy: bool,
    #[serde(default)]
    pub snapshot: bool,
    #[serde(default)]
    pub snapshot_off: Option<String>,
    #[serde(default)]
    pub state: bool,
    #[serde(default)]
    pub state_error: Option<String>,
    #[serde(default)]
    pub mtime: Option<String>,
    /// `env_size`: the pickled size of `context.env`.
    #[serde(default)]
    pub bytes: Option<u64>,
    #[serde(default)]
    pub lens: Vec<usize>,
}

/// Read one reply and its payloads.
pub async fn read_reply<R: AsyncRead + Unpin>(reader: &mut R) -> std::io::Result<(Reply, Vec<Vec<u8>>)> {
    let mut len = [0u8; 4];
    reader.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_PART {
        return Err(std::io::Error::other("worker frame header too large"));
    }
    let mut raw = vec![0u8; len];
    reader.read_exact(&mut raw).await?;
    let reply: Reply = serde_json::from_slice(&raw).map_err(std::io::Error::other)?;
    let mut payloads = Vec::with_capacity(reply.lens.len());
    for &n in &reply.lens {
        if n > MAX_PART {
            return Err(std::io::Error::other("worker payload too large"));
        }
        let mut buf = vec![0u8; n];
        reader.read_exact(&mut buf).await?;
        payloads.push(buf);
    }
    Ok((reply, payloads))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_round_trip() {
        let frame = encode(&serde_json::json!({"ok": true, "truthy": true}), &[b"abc", b""]);
        let (reply, payloads) = read_reply(&mut frame.as_slice()).await.expect("reads");
        assert!(reply.ok && reply.truthy);
        assert_eq!(payloads, vec![b"abc".to_vec(), Vec::new()]);
    }

    /// Split a frame into its header (as JSON) and the bytes after it.
    fn decode(frame: &[u8]) -> (serde_json::Value, Vec<u8>) {
        let len = u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
        (serde_json::from_slice(&frame[4..4 + len]).expect("header JSON"), frame[4 + len..].to_vec())
    }

    #[test]
    fn call_frames_match_the_generic_encoding() {
        let input = b"{\"a\": 1}";
        assert_eq!(
            decode(&encode_call(input)),
            decode(&encode(&serde_json::json!({"op": "call"}), &[input]))
        );
    }

    #[tokio::test]
    async fn truncated_frames_are_errors() {
        let frame = encode(&serde_json::json!({"ok": true}), &[b"abcdef"]);
        assert!(read_reply(&mut &frame[..frame.len() - 2]).await.is_err());
    }
}
