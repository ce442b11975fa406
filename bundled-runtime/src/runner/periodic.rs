//! The periodic loop: ticks on a fixed grid (`MONITORING_PERIOD`, measured start to start, so
//! it does not drift; a missed tick is skipped, never burst), or woken by keyspace
//! notifications with the grid as a fallback. The first tick runs at start-up.

use std::time::Duration;

use super::Runner;
use super::supervisor::Spawner;
use crate::source::Source;
use crate::tick::Outcome;

impl<S: Source, P: Spawner> Runner<S, P> {
    pub(super) async fn run_periodic(&mut self) {
        let mut interval = tokio::time::interval(self.settings.period.max(Duration::from_millis(1)));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut shutdown = self.shutdown.clone();
        let mut notifications = self.notifications.take();
        loop {
            if self.stopping() {
                break;
            }
            tokio::select! {
                biased;
                _ = shutdown.changed() => break,
                _ = interval.tick() => {}
                Some(()) = async { match notifications.as_mut() { Some(rx) => rx.recv().await, None => None } } => {}
            }
            self.report.shared.beat();
            self.supervisor.reload_if_changed(&self.settings, &self.state, &mut self.report, self.tick).await;
            self.tick += 1;
            let outcome = self.periodic_tick().await;
            self.conclude(outcome);
        }
        // A stop between ticks still writes what a refused write kept.
        self.flush().await;
    }

    /// One tick: the output a failed write kept goes first; then read, call, write.
    async fn periodic_tick(&mut self) -> Outcome {
        self.flush().await;
        let fetched = self.source.get(&self.settings.input_key, self.settings.max_input).await;
        let input = match self.admit(fetched).await {
            Ok(input) => input,
            Err(outcome) => return outcome,
        };
        match self.call(&input).await {
            Ok(Some(output)) => {
                // A newer output replaces one still pending.
                self.pending = None;
                self.write_output(output).await
            }
            Ok(None) => Outcome::NotWritten,
            Err(failure) => Outcome::Failed(failure),
        }
    }
}
