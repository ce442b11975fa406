//! The loops over stand-ins: an in-memory Redis and a worker that answers from a script, with
//! tokio's clock paused. No Redis, no Python: what is tested is the schedule and the policy.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use fnops_worker::{CallId, Called, InitConfig, Reply, Request, WorkerError};
use tokio::sync::watch;

use super::Runner;
use super::supervisor::{Calls, Spawner};
use crate::code::Prepared;
use crate::config::Settings;
use crate::metrics::Shared;
use crate::source::{Exchange, Source, SourceError};

/// An in-memory Redis that can refuse writes or be down.
#[derive(Clone, Default)]
struct Memory(Rc<RefCell<Store>>);

#[derive(Default)]
struct Store {
    values: HashMap<String, Vec<u8>>,
    refuse_writes: bool,
    writes: Vec<(String, Vec<u8>)>,
    reads: usize,
}

impl Memory {
    fn put(&self, key: &str, value: &str) {
        self.0.borrow_mut().values.insert(key.into(), value.as_bytes().to_vec());
    }
    fn value(&self, key: &str) -> Option<String> {
        self.0.borrow().values.get(key).map(|v| String::from_utf8_lossy(v).into_owned())
    }
    fn writes_to(&self, key: &str) -> Vec<String> {
        self.0
            .borrow()
            .writes
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .collect()
    }
}

impl Source for Memory {
    async fn get(&mut self, key: &str, cap: usize) -> Result<Option<Vec<u8>>, SourceError> {
        tokio::task::yield_now().await;
        let mut store = self.0.borrow_mut();
        store.reads += 1;
        Ok(store.values.get(key).map(|v| v[..v.len().min(cap + 1)].to_vec()).filter(|v| !v.is_empty()))
    }

    async fn set(&mut self, key: &str, value: &[u8]) -> Result<(), SourceError> {
        tokio::task::yield_now().await;
        let mut store = self.0.borrow_mut();
        if store.refuse_writes {
            return Err(SourceError::Command(
                "OOM command not allowed when used memory > 'maxmemory'.".into(),
            ));
        }
        store.values.insert(key.into(), value.to_vec());
        store.writes.push((key.into(), value.to_vec()));
        Ok(())
    }

    async fn write_then_read(&mut self, write: Option<(String, Vec<u8>)>, key: &str, cap: usize) -> Exchange {
        let (unwritten, write_error) = match write {
            None => (None, None),
            Some((k, v)) => match self.set(&k, &v).await {
                Ok(()) => (None, None),
                Err(e) => (Some((k, v)), Some(e)),
            },
        };
        Exchange { unwritten, write_error, read: self.get(key, cap).await }
    }
}

/// How the scripted worker answers one input.
#[derive(Clone, Debug)]
enum Answer {
    /// Returns this output.
    Output(String),
    /// Dies during the call.
    Die,
    /// Never answers.
    Hang,
    /// Answers with the id of another request (as a forked child would).
    WrongId,
}

type Script = Rc<RefCell<dyn FnMut(&str) -> Answer>>;

struct Fake {
    script: Script,
    queued: VecDeque<(CallId, Option<String>)>,
    next_id: CallId,
    dead: bool,
    log: Rc<RefCell<Vec<String>>>,
}

impl Calls for Fake {
    fn send(&mut self, request: Request<'_>) -> CallId {
        let id = self.next_id;
        self.next_id += 1;
        let input = match request {
            Request::Call(i) => Some(String::from_utf8_lossy(i).into_owned()),
            other => {
                self.log.borrow_mut().push(other.op().to_owned());
                None
            }
        };
        self.queued.push_back((id, input));
        id
    }

    async fn receive_by(
        &mut self,
        id: CallId,
        deadline: tokio::time::Instant,
        allowed: Duration,
    ) -> Result<Reply, WorkerError> {
        tokio::task::yield_now().await;
        if self.dead {
            return Err(WorkerError::Exited);
        }
        let Some((sent, input)) = self.queued.pop_front() else { return Err(WorkerError::Exited) };
        assert_eq!(sent, id, "the loop waits for replies in the order it sent");
        let Some(input) = input else { return Ok(Reply::Done) };
        self.log.borrow_mut().push(format!("call {input}"));
        let answer = (self.script.borrow_mut())(&input);
        match answer {
            Answer::Output(out) => Ok(Reply::Called(Called {
                truthy: true,
                output: out.into_bytes(),
                snapshot: Some(b"pickled".to_vec()),
                ..Called::default()
            })),
            Answer::Die => {
                self.dead = true;
                Err(WorkerError::Exited)
            }
            Answer::Hang => {
                tokio::time::sleep_until(deadline).await;
                Err(WorkerError::Timeout(allowed))
            }
            Answer::WrongId => Err(WorkerError::Desync { expected: id, got: id + 1000 }),
        }
    }

    fn has_exited(&mut self) -> bool {
        self.dead
    }

    async fn shutdown(self, _grace: Duration) {}
}

#[derive(Clone)]
struct FakeSpawner {
    script: Script,
    spawned: Rc<RefCell<usize>>,
    /// Starts after the first fail while this is set.
    failing: Rc<RefCell<bool>>,
    log: Rc<RefCell<Vec<String>>>,
}

impl Spawner for FakeSpawner {
    type Worker = Fake;

    async fn spawn(&self, _init: &InitConfig) -> Result<Fake, WorkerError> {
        if *self.spawned.borrow() > 0 && *self.failing.borrow() {
            return Err(WorkerError::Exited);
        }
        *self.spawned.borrow_mut() += 1;
        Ok(Fake {
            script: self.script.clone(),
            queued: VecDeque::new(),
            next_id: 1,
            dead: false,
            log: self.log.clone(),
        })
    }
}

struct Rig {
    memory: Memory,
    spawner: FakeSpawner,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    _module: tempfile::NamedTempFile,
}

fn rig(
    env: &[(&str, &str)],
    script: impl FnMut(&str) -> Answer + 'static,
) -> (Rig, impl Future<Output = Runner<Memory, FakeSpawner>>) {
    let module = tempfile::Builder::new().suffix(".py").tempfile().expect("module");
    let mut vars: HashMap<String, String> =
        env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    vars.insert("PYFILE_PATH".into(), module.path().display().to_string());
    vars.entry("REDIS_OUTPUT_KEY".into()).or_insert_with(|| "out".into());
    vars.insert("RELOAD".into(), "false".into());
    let settings = Settings::from_env(|k| vars.get(k).cloned()).expect("settings");
    let memory = Memory::default();
    let script: Script = Rc::new(RefCell::new(script));
    let spawner = FakeSpawner { script, spawned: Rc::default(), failing: Rc::default(), log: Rc::default() };
    let shared = Arc::new(Shared::new(Duration::from_secs(600), true));
    let (stop, shutdown) = watch::channel(false);
    let init = crate::code::prepare(&settings).expect("prepare").init;
    let runner = {
        let (memory, spawner, shared) = (memory.clone(), spawner.clone(), shared.clone());
        async move {
            Runner::with(settings, memory, spawner, Prepared::from_init(init), shared, shutdown)
                .await
                .expect("runner")
        }
    };
    (Rig { memory, spawner, shared, stop, _module: module }, runner)
}

fn calls(rig: &Rig) -> Vec<String> {
    rig.spawner.log.borrow().iter().filter(|l| l.starts_with("call ")).cloned().collect()
}

fn metric(rig: &Rig, line_start: &str) -> f64 {
    rig.shared
        .render()
        .lines()
        .find(|l| l.starts_with(line_start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// Run `runner` while `drive` runs, then stop it; `drive` gets the rig.
async fn run_while<F: Future<Output = ()>>(rig: &Rig, runner: Runner<Memory, FakeSpawner>, drive: F) {
    let stop = rig.stop.clone();
    tokio::join!(runner.run(), async move {
        drive.await;
        let _ = stop.send(true);
    });
}

#[tokio::test(start_paused = true)]
async fn ticks_follow_the_grid_and_the_first_runs_at_start() {
    let (rig, runner) =
        rig(&[("MONITORING_PERIOD", "1"), ("TRIGGER", "poll")], |i| Answer::Output(format!("<{i}>")));
    rig.memory.put("metrics", "{}");
    let runner = runner.await;
    run_while(&rig, runner, tokio::time::sleep(Duration::from_millis(3500))).await;
    assert_eq!(calls(&rig).len(), 4, "ticks at 0, 1, 2 and 3 s: {:?}", calls(&rig));
    assert_eq!(rig.memory.value("out").as_deref(), Some("<{}>"));
}

#[tokio::test(start_paused = true)]
async fn the_change_trigger_calls_once_per_value() {
    let (rig, runner) =
        rig(&[("MONITORING_PERIOD", "1"), ("TRIGGER", "change")], |i| Answer::Output(i.into()));
    rig.memory.put("metrics", "{\"a\": 1}");
    let runner = runner.await;
    let memory = rig.memory.clone();
    run_while(&rig, runner, async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        memory.put("metrics", "{\"a\": 2}");
        tokio::time::sleep(Duration::from_millis(2000)).await;
    })
    .await;
    assert_eq!(calls(&rig), ["call {\"a\": 1}", "call {\"a\": 2}"]);
}

/// Redis refuses the output write (out of memory) while reads work: the output is kept and
/// written at a later tick, without a new input.
#[tokio::test(start_paused = true)]
async fn a_refused_write_is_written_again_without_a_new_input() {
    let (rig, runner) =
        rig(&[("MONITORING_PERIOD", "1"), ("TRIGGER", "change")], |_| Answer::Output("result".into()));
    rig.memory.put("metrics", "{}");
    rig.memory.0.borrow_mut().refuse_writes = true;
    let runner = runner.await;
    let memory = rig.memory.clone();
    run_while(&rig, runner, async move {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(memory.value("out"), None, "refused so far");
        memory.0.borrow_mut().refuse_writes = false;
        tokio::time::sleep(Duration::from_millis(1000)).await;
    })
    .await;
    assert_eq!(rig.memory.value("out").as_deref(), Some("result"));
    assert_eq!(calls(&rig).len(), 1, "the handler saw the input once");
    assert!(metric(&rig, "fnops_invocations_total{outcome=\"redis_error\"}") >= 1.0);
}

#[tokio::test(start_paused = true)]
async fn a_dead_worker_is_replaced_and_the_input_retried_once() {
    let mut first = true;
    let (rig, runner) = rig(&[("MONITORING_PERIOD", "1"), ("TRIGGER", "change")], move |_| {
        if std::mem::take(&mut first) { Answer::Die } else { Answer::Output("ok".into()) }
    });
    rig.memory.put("metrics", "{}");
    let runner = runner.await;
    run_while(&rig, runner, tokio::time::sleep(Duration::from_millis(1500))).await;
    assert_eq!(rig.memory.value("out").as_deref(), Some("ok"));
    assert_eq!(*rig.spawner.spawned.borrow(), 2);
    assert_eq!(
        metric(&rig, "fnops_worker_restarts_total{reason=\"exited\"}"),
        1.0,
        "one cause, one label:\n{}",
        rig.shared.render()
    );
    assert!(rig.spawner.log.borrow().contains(&"restore_pickle".to_owned()) || calls(&rig).len() == 2);
}

/// An input that kills every worker: tried twice at its first tick, then once per tick, and
/// each death is one restart.
#[tokio::test(start_paused = true)]
async fn a_poison_input_is_given_up_and_not_retried_at_later_ticks() {
    let (rig, runner) = rig(&[("MONITORING_PERIOD", "10"), ("TRIGGER", "poll")], |_| Answer::Die);
    rig.memory.put("metrics", "{}");
    let runner = runner.await;
    run_while(&rig, runner, tokio::time::sleep(Duration::from_millis(25_000))).await;
    let calls = calls(&rig).len();
    assert_eq!(calls, 2 + 1 + 1, "ticks at 0, 10 and 20 s");
    assert_eq!(metric(&rig, "fnops_worker_restarts_total{reason=\"exited\"}"), calls as f64);
}

/// The worker cannot be started again: a stop during the backoff ends the run at once, not after
/// the backoff.
#[tokio::test(start_paused = true)]
async fn a_stop_during_the_restart_backoff_is_prompt() {
    let (rig, runner) = rig(&[("MONITORING_PERIOD", "1"), ("TRIGGER", "poll")], |_| Answer::Die);
    rig.memory.put("metrics", "{}");
    *rig.spawner.failing.borrow_mut() = true;
    let runner = runner.await;
    let stop = rig.stop.clone();
    let started = tokio::time::Instant::now();
    let stopped_at = Rc::new(RefCell::new(None));
    let at = stopped_at.clone();
    tokio::join!(runner.run(), async move {
        tokio::time::sleep(Duration::from_secs(20)).await;
        *at.borrow_mut() = Some(tokio::time::Instant::now());
        let _ = stop.send(true);
    });
    let stop_time = stopped_at.borrow().expect("stopped");
    let ended = tokio::time::Instant::now();
    assert!(
        ended - stop_time < Duration::from_millis(50),
        "the run ended {:?} after the stop",
        ended - stop_time
    );
    assert!(stop_time - started >= Duration::from_secs(20));
}

#[tokio::test(start_paused = true)]
async fn a_reply_meant_for_another_request_replaces_the_worker() {
    let mut first = true;
    let (rig, runner) = rig(&[("MONITORING_PERIOD", "1"), ("TRIGGER", "change")], move |_| {
        if std::mem::take(&mut first) { Answer::WrongId } else { Answer::Output("right".into()) }
    });
    rig.memory.put("metrics", "{}");
    let runner = runner.await;
    run_while(&rig, runner, tokio::time::sleep(Duration::from_millis(1500))).await;
    assert_eq!(rig.memory.writes_to("out"), ["right"], "never the other request's answer");
    assert_eq!(metric(&rig, "fnops_worker_restarts_total{reason=\"protocol\"}"), 1.0);
}

#[tokio::test(start_paused = true)]
async fn a_hang_is_cut_at_the_timeout_and_the_worker_replaced() {
    let mut first = true;
    let (rig, runner) =
        rig(&[("MONITORING_PERIOD", "1"), ("TRIGGER", "poll"), ("HANDLER_TIMEOUT", "3")], move |_| {
            if std::mem::take(&mut first) { Answer::Hang } else { Answer::Output("back".into()) }
        });
    rig.memory.put("metrics", "{}");
    let runner = runner.await;
    run_while(&rig, runner, tokio::time::sleep(Duration::from_millis(5500))).await;
    assert_eq!(rig.memory.value("out").as_deref(), Some("back"));
    assert_eq!(metric(&rig, "fnops_worker_restarts_total{reason=\"timeout\"}"), 1.0);
    assert_eq!(metric(&rig, "fnops_invocations_total{outcome=\"timeout\"}"), 1.0, "no retry after a hang");
}

/// `STATE_KEY` holding JSON that is not an object is not given to the worker.
#[tokio::test(start_paused = true)]
async fn a_state_key_that_is_not_an_object_is_not_restored() {
    let (rig, runner) =
        rig(&[("MONITORING_PERIOD", "1"), ("STATE_KEY", "state")], |_| Answer::Output("fine".into()));
    rig.memory.put("metrics", "{}");
    rig.memory.put("state", "[1, 2, 3]");
    let runner = runner.await;
    run_while(&rig, runner, tokio::time::sleep(Duration::from_millis(500))).await;
    assert!(!rig.spawner.log.borrow().contains(&"restore_json".to_owned()), "{:?}", rig.spawner.log.borrow());
    assert_eq!(rig.memory.value("out").as_deref(), Some("fine"));
}

/// With the period at 0 the loop pipelines: every output is written, once, in order.
#[tokio::test(start_paused = true)]
async fn the_pipelined_loop_writes_every_output_in_order() {
    let mut n = 0;
    let (rig, runner) = rig(&[("MONITORING_PERIOD", "0"), ("TRIGGER", "poll")], move |_| {
        n += 1;
        Answer::Output(n.to_string())
    });
    rig.memory.put("metrics", "{}");
    let runner = runner.await;
    let memory = rig.memory.clone();
    run_while(&rig, runner, async move {
        while memory.writes_to("out").len() < 200 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    let writes: Vec<u64> = rig.memory.writes_to("out").iter().map(|w| w.parse().expect("number")).collect();
    assert!(writes.windows(2).all(|w| w[1] == w[0] + 1), "in order, none lost: {writes:?}");
    assert_eq!(
        writes.last().copied(),
        Some(calls(&rig).len() as u64),
        "the last call's output is written before the end"
    );
}
