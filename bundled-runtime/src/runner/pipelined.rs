//! The pipelined loop, with the period at 0: ticks overlap. While the worker computes tick N,
//! Redis writes the output of tick N-1 and reads the input of tick N+1 (one round trip on the
//! multiplexed connection), and when that input arrives before the reply it is queued in the
//! worker at once, so the worker starts on it without waiting for the host. Each output is still
//! written once, in order; at most one call waits in the worker.

use std::time::Instant;

use fnops_worker::{CallId, Request};

use super::supervisor::{Calls, Spawner};
use super::{Runner, reply_to_call, screen};
use crate::source::{Exchange, Source, SourceError};
use crate::tick::{Failure, Outcome};

/// The next tick's input, as far as the overlapped tick before it got with it.
enum Next {
    /// Read from Redis, not yet looked at.
    Fetched(Result<Option<Vec<u8>>, SourceError>),
    /// Admitted (non-empty, changed when that matters), to be sent to the worker.
    Admitted(Vec<u8>),
    /// Already queued in the worker as request `CallId`.
    Sent(Vec<u8>, CallId),
    /// Not for the handler (empty, unchanged, Redis failed): the tick's outcome.
    Rejected(Outcome),
}

impl<S: Source, P: Spawner> Runner<S, P> {
    pub(super) async fn run_pipelined(&mut self) {
        let (key, cap) = (self.settings.input_key.clone(), self.settings.max_input);
        let mut next = Next::Fetched(self.source.get(&key, cap).await);
        loop {
            let stopping = self.stopping();
            // A call already queued is a tick in flight: it finishes even on SIGTERM.
            if stopping && !matches!(next, Next::Sent(..)) {
                break;
            }
            self.report.shared.beat();
            if !matches!(next, Next::Sent(..)) {
                self.supervisor
                    .reload_if_changed(&self.settings, &self.state, &mut self.report, self.tick)
                    .await;
            }
            self.tick += 1;
            let (input, sent) = match next {
                Next::Sent(input, id) => (input, Some(id)),
                Next::Admitted(input) => (input, None),
                Next::Fetched(fetched) => match self.admit(fetched).await {
                    Ok(input) => (input, None),
                    Err(outcome) => {
                        next = self.skip(outcome).await;
                        continue;
                    }
                },
                Next::Rejected(outcome) => {
                    next = self.skip(outcome).await;
                    continue;
                }
            };
            // Sending ahead pauses while a stop or a reload check is due, so those happen
            // between calls.
            let ahead = !stopping && !self.supervisor.reload_due(&self.settings);
            let ((result, started), write, following) = self.step(&input, sent, ahead).await;
            next = following;
            let result = self.conclude_call(&input, result, started).await;
            let outcome = match result {
                // A newer output supersedes one the previous write could not store.
                Ok(Some(output)) => {
                    self.pending = Some(output);
                    Outcome::Written
                }
                Ok(None) => {
                    self.pending = write.unwritten.map(|(_, value)| value);
                    Outcome::NotWritten
                }
                Err(failure) => {
                    self.pending = write.unwritten.map(|(_, value)| value);
                    Outcome::Failed(failure)
                }
            };
            if let Some(e) = write.write_error {
                let key = self.settings.output_key.clone().unwrap_or_default();
                let failure = self.redis_failure(e, &format!("writing `{key}`"));
                self.conclude(Outcome::Failed(failure));
            }
            self.conclude(outcome);
        }
        self.flush().await;
    }

    /// A tick that does not call the handler: write what is pending, report, read again.
    async fn skip(&mut self, outcome: Outcome) -> Next {
        self.flush().await;
        self.conclude(outcome);
        tokio::task::yield_now().await;
        Next::Fetched(self.source.get(&self.settings.input_key, self.settings.max_input).await)
    }

    /// One overlapped tick: the call of `input` (queued already when `sent`), and beside it the
    /// write of the pending output and the read of the next input, which is admitted and queued
    /// ahead when `ahead` allows and it arrives before the reply.
    async fn step(
        &mut self,
        input: &[u8],
        sent: Option<CallId>,
        ahead: bool,
    ) -> ((Result<fnops_worker::Called, Failure>, Instant), Exchange, Next) {
        let mut io = self.source.clone();
        let (key, cap) = (self.settings.input_key.clone(), self.settings.max_input);
        let write = self.settings.output_key.clone().zip(self.pending.take());
        let io_work = async move { io.write_then_read(write, &key, cap).await };
        tokio::pin!(io_work);
        let started = Instant::now();
        let timeout = self.settings.handler_timeout;
        let deadline = tokio::time::Instant::now() + timeout;
        let id = match sent {
            Some(id) => id,
            None => match self.supervisor.ensure(&self.state, &mut self.report, self.tick).await {
                Some(worker) => worker.send(Request::Call(input)),
                None => {
                    let exchange = io_work.await;
                    let (exchange, next) = split(exchange);
                    let failure = Failure::WorkerUnavailable("no worker could be started".into());
                    return ((Err(failure), started), exchange, next);
                }
            },
        };
        // Only `step` empties the slot between a send and its reply, so the worker is there.
        let mut reply = None;
        let mut io_done: Option<(Exchange, Next)> = None;
        let mut queued: Option<(Vec<u8>, CallId)> = None;
        loop {
            let Some(worker) = self.supervisor.current() else {
                reply.get_or_insert(Err(Failure::WorkerExited));
                break;
            };
            tokio::select! {
                r = worker.receive_by(id, deadline, timeout), if reply.is_none() => {
                    reply = Some(reply_to_call(r));
                }
                exchange = &mut io_work, if io_done.is_none() => {
                    let early = ahead && reply.is_none() && !self.state.needs_load()
                        && matches!(&exchange.read, Ok(Some(v)) if !v.is_empty());
                    let (exchange, next) = split(exchange);
                    io_done = Some(match next {
                        Next::Fetched(fetched) if early => {
                            match screen(&mut self.report, &mut self.changes, &self.settings, self.tick + 1, fetched) {
                                Ok(next_input) => {
                                    let next_id = worker.send(Request::Call(&next_input));
                                    queued = Some((next_input, next_id));
                                    (exchange, Next::Fetched(Ok(None)))
                                }
                                Err(outcome) => (exchange, Next::Rejected(outcome)),
                            }
                        }
                        other => (exchange, other),
                    });
                }
            }
            if reply.is_some() && io_done.is_some() {
                break;
            }
        }
        let result = reply.unwrap_or(Err(Failure::WorkerExited));
        let (exchange, next) = match io_done {
            Some(done) => done,
            None => split(io_work.await),
        };
        let next = match queued {
            // Queued in a worker that answered this call: its reply is the next tick's.
            Some((next_input, next_id)) if result.is_ok() => Next::Sent(next_input, next_id),
            // Queued, but the worker died or was stuck with it: send it to the next one.
            Some((next_input, _)) => Next::Admitted(next_input),
            None => next,
        };
        ((result, started), exchange, next)
    }
}

/// The write part of an exchange, and its read as the next tick's input.
fn split(exchange: Exchange) -> (Exchange, Next) {
    let Exchange { unwritten, write_error, read } = exchange;
    (Exchange { unwritten, write_error, read: Ok(None) }, Next::Fetched(read))
}
