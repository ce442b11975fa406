//! STATE: `context.env` across worker restarts and pods.
//!
//! - **Snapshots** (host memory only): the pickled env the worker sends after a successful
//!   call, given to the next worker when one dies or hangs.
//! - **`STATE_KEY`** (Redis): the env as JSON after each call, read once at start so a new pod
//!   continues where the last one stopped. Anyone on a shared Redis can write that key, so what
//!   it holds is checked first: only a JSON object becomes `context.env`.

use crate::source::{Source, SourceError};

/// What a new worker gets as its `context.env`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restore<'a> {
    /// The pickled env of an earlier worker.
    Pickle(&'a [u8]),
    /// A JSON object (from `STATE_KEY`).
    Json(&'a [u8]),
}

#[derive(Default)]
pub struct StateKeeper {
    /// The last snapshot, with the tick that took it.
    snapshot: Option<(Vec<u8>, u64)>,
    /// The JSON state read from `STATE_KEY`, until a snapshot replaces it.
    loaded_json: Option<Vec<u8>>,
    state_key: Option<String>,
    loaded: bool,
}

/// The outcome of reading `STATE_KEY`.
#[derive(Debug, PartialEq, Eq)]
pub enum Loaded {
    /// Nothing to restore (no key configured, nothing saved, or a value that is not a JSON
    /// object, which was logged).
    Nothing,
    /// A JSON object, to restore into the worker.
    Json(Vec<u8>),
    /// Redis did not answer: try again at the next tick.
    NotYet(SourceError),
}

impl StateKeeper {
    pub fn new(state_key: Option<String>) -> StateKeeper {
        StateKeeper { state_key, ..StateKeeper::default() }
    }

    pub fn keep_snapshot(&mut self, blob: Vec<u8>, tick: u64) {
        self.snapshot = Some((blob, tick));
        self.loaded_json = None;
    }

    /// The tick of the last snapshot.
    pub fn snapshot_tick(&self) -> Option<u64> {
        self.snapshot.as_ref().map(|(_, t)| *t)
    }

    /// What a new worker should start from, if anything.
    pub fn restore(&self) -> Option<Restore<'_>> {
        match (&self.snapshot, &self.loaded_json) {
            (Some((blob, _)), _) => Some(Restore::Pickle(blob)),
            (None, Some(json)) => Some(Restore::Json(json)),
            (None, None) => None,
        }
    }

    /// Whether `STATE_KEY` is still to be read.
    pub fn needs_load(&self) -> bool {
        !self.loaded
    }

    /// Read `STATE_KEY` (once it answers), at most `cap` bytes.
    pub async fn load<S: Source>(&mut self, source: &mut S, cap: usize) -> Loaded {
        let Some(key) = self.state_key.clone() else {
            self.loaded = true;
            return Loaded::Nothing;
        };
        let raw = match source.get(&key, cap).await {
            Ok(value) => value,
            Err(e) => return Loaded::NotYet(e),
        };
        self.loaded = true;
        let Some(raw) = raw else { return Loaded::Nothing };
        if raw.len() > cap {
            tracing::warn!(
                "`STATE_KEY` `{key}` holds more than {cap} bytes (`MAX_INPUT_BYTES`): not restored"
            );
            return Loaded::Nothing;
        }
        match serde_json::from_slice::<serde_json::Value>(&raw) {
            Ok(serde_json::Value::Object(_)) => {
                self.loaded_json = Some(raw.clone());
                Loaded::Json(raw)
            }
            Ok(other) => {
                let what = match other {
                    serde_json::Value::Array(_) => "an array",
                    serde_json::Value::String(_) => "a string",
                    serde_json::Value::Number(_) => "a number",
                    serde_json::Value::Bool(_) => "a boolean",
                    _ => "null",
                };
                tracing::warn!(
                    "`STATE_KEY` `{key}` holds JSON {what}, not an object: not restored; context.env starts empty and the key is overwritten after the next call"
                );
                Loaded::Nothing
            }
            Err(e) => {
                tracing::warn!("`STATE_KEY` `{key}` does not hold JSON ({e}): not restored");
                Loaded::Nothing
            }
        }
    }

    /// Save the env as JSON to `STATE_KEY`, when configured.
    pub async fn save<S: Source>(&self, source: &mut S, state: &[u8], tick: u64) {
        if let Some(key) = &self.state_key
            && let Err(e) = source.set(key, state).await
        {
            tracing::warn!(tick, "cannot save `STATE_KEY` `{key}`: {e}");
        }
    }
}
