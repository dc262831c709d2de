//! How many bulk requests are under way at once: a limit the cluster's answers move, as Vector's
//! adaptive request concurrency does. Additive increase, multiplicative decrease, after each
//! round of answers (as many as the limit): one more request in flight while hardly any wait in
//! the cluster's queues and the sender had more to send than the limit let through; half as many
//! after a round with a 429 or 5xx (the cluster says its queues are full); a tenth fewer (at
//! least one) while more than two wait (the cluster queues what it cannot yet say no to). Or a
//! fixed limit, for a cluster whose owner knows what it takes.
//!
//! What waits is reckoned as TCP Vegas does, from the round's time per MiB against the quickest
//! round's: `limit · (1 − quickest / now)`. Vector's test instead (no slower than the moving
//! average, less than 2.5 deviations slower) lets the limit drift up on a saturated node, where
//! one request more makes each answer slower by less than the noise: on a 2-core node it rose to
//! 6 and indexed a fifth less than a limit of 1 (BENCHMARKS.md, target 3).
//!
//! The limit is one per process ([`Limiter`], which a [`super::Cluster`] and its clones share),
//! whichever inputs send at once. A request holds its permit from before its body is handed
//! over until it is settled, its retries included, so at most `limit` bodies are on their way
//! to the cluster; and the more at once, the smaller each ([`body_bytes`]), so what they hold
//! stays within [`IN_FLIGHT_BYTES`] however far the limit climbs.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The most requests under way at once.
pub const MAX: usize = 8;
/// The bytes of bulk bodies on their way to the cluster at once, at most: one body of
/// [`super::BULK_BYTES`], shared among the requests, so that the host stays within 64 MiB
/// whatever the limit (BENCHMARKS.md, peak RSS: each body is held twice while it is sent, as
/// its documents, for retries, and as the request).
pub const IN_FLIGHT_BYTES: usize = super::BULK_BYTES;

/// The size a sink's bodies are sent at while `limit` requests may be under way at once.
pub fn body_bytes(limit: usize) -> usize {
    IN_FLIGHT_BYTES / limit.max(1)
}
/// Where an adaptive limit starts, as Vector's: the quickest time is then one with nothing
/// waiting, and parsing still overlaps the request (the sink fills the next body meanwhile).
const INITIAL: usize = 1;
/// Fewer requests than this waiting in the cluster: room for one more.
const QUEUED_FEWEST: f64 = 1.0;
/// More requests than this waiting in the cluster: too many.
const QUEUED_MOST: f64 = 2.0;
/// The limit kept after a round with too many waiting.
const QUEUED_RATIO: f64 = 0.9;
/// A body under this size counts as this size when its time is compared: what a request
/// costs besides its bytes does not make a small body look slow.
const NOMINAL_BYTES: usize = 1 << 20;

/// Bulk requests at once: adapting to the cluster, or fixed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Concurrency {
    #[default]
    Adaptive,
    /// This many, between 1 and [`MAX`].
    Fixed(usize),
}

impl std::str::FromStr for Concurrency {
    type Err = String;

    /// `adaptive`, or a number of requests from 1 to [`MAX`].
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "adaptive" => Ok(Concurrency::Adaptive),
            n => match n.parse::<usize>() {
                Ok(n @ 1..=MAX) => Ok(Concurrency::Fixed(n)),
                _ => Err(format!("`{s}`: expected `adaptive` or a number of requests from 1 to {MAX}")),
            },
        }
    }
}

/// What one bulk request's answer says of the cluster.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Answer {
    /// Answered, every item settled or refused for good, in this time for a body of this size.
    Took(Duration, usize),
    /// 429 or 5xx, for the request or some of its items, or no answer in time.
    BackPressure,
    /// Failed for a reason that says nothing of the cluster's load (a connection refused).
    Failed,
}

/// The answers of one round: as many as the limit at its start, about one trip each.
#[derive(Debug, Default)]
struct Round {
    answers: usize,
    /// Seconds per MiB, summed over the answers that took a measured time.
    seconds_per_mib: f64,
    measured: usize,
    back_pressure: bool,
    /// The sender had as many requests under way as the limit lets: more might have gone.
    reached_limit: bool,
}

/// The limit and what moves it; pure: what it is told is all it knows.
#[derive(Debug)]
pub(crate) struct Controller {
    limit: usize,
    adaptive: bool,
    in_flight: usize,
    /// The seconds per MiB of the quickest round, once one was measured: the cluster's time
    /// with nothing waiting.
    quickest: Option<f64>,
    round: Round,
}

impl Controller {
    pub(crate) fn new(concurrency: Concurrency) -> Self {
        let (limit, adaptive) = match concurrency {
            Concurrency::Adaptive => (INITIAL, true),
            Concurrency::Fixed(n) => (n.clamp(1, MAX), false),
        };
        Controller { limit, adaptive, in_flight: 0, quickest: None, round: Round::default() }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// A request is under way.
    pub(crate) fn started(&mut self) {
        self.in_flight += 1;
        self.round.reached_limit |= self.in_flight >= self.limit;
    }

    /// A request is no longer under way.
    pub(crate) fn finished(&mut self) {
        self.in_flight = self.in_flight.saturating_sub(1);
    }

    /// An attempt at a request under way was answered; at the end of a round the limit moves.
    pub(crate) fn answered(&mut self, answer: Answer) {
        let round = &mut self.round;
        round.answers += 1;
        match answer {
            Answer::Took(took, bytes) => {
                round.seconds_per_mib += took.as_secs_f64() * (1 << 20) as f64 / bytes.max(NOMINAL_BYTES) as f64;
                round.measured += 1;
            }
            Answer::BackPressure => round.back_pressure = true,
            Answer::Failed => {}
        }
        if round.answers >= self.limit {
            self.end_round();
        }
    }

    fn end_round(&mut self) {
        let round = std::mem::take(&mut self.round);
        let current = (round.measured > 0).then(|| round.seconds_per_mib / round.measured as f64);
        if !self.adaptive {
            return;
        }
        self.limit = match (self.quickest, current) {
            _ if round.back_pressure => (self.limit / 2).max(1),
            (Some(quickest), Some(current)) => match self.limit as f64 * (1.0 - quickest / current) {
                queued if queued > QUEUED_MOST => {
                    ((self.limit as f64 * QUEUED_RATIO) as usize).min(self.limit - 1).max(1)
                }
                queued if queued < QUEUED_FEWEST && round.reached_limit => (self.limit + 1).min(MAX),
                _ => self.limit,
            },
            _ => self.limit,
        };
        if let Some(current) = current {
            self.quickest = Some(self.quickest.map_or(current, |quickest| quickest.min(current)));
        }
        // What was under way at the end of this round counts towards the next.
        self.round.reached_limit = self.in_flight >= self.limit;
    }
}

/// The process's bulk requests under way: a semaphore of `limit` permits, the limit moved by
/// the [`Controller`] as answers come.
#[derive(Debug)]
pub(crate) struct Limiter {
    semaphore: Arc<Semaphore>,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    controller: Controller,
    /// Permits to take away as they come back, for a limit lowered while they were out.
    owed: usize,
}

impl Limiter {
    pub(crate) fn new(concurrency: Concurrency) -> Arc<Self> {
        let controller = Controller::new(concurrency);
        Arc::new(Limiter {
            semaphore: Arc::new(Semaphore::new(controller.limit())),
            state: Mutex::new(State { controller, owed: 0 }),
        })
    }

    /// The limit now.
    pub(crate) fn limit(&self) -> usize {
        self.state().controller.limit()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits for room for one more request.
    pub(crate) async fn acquire(self: &Arc<Self>) -> Permit {
        let permit = Arc::clone(&self.semaphore).acquire_owned().await.expect("the semaphore is never closed");
        self.state().controller.started();
        Permit { limiter: Arc::clone(self), permit: Some(permit) }
    }
}

/// Room for one request, given back when dropped; its answers move the limit.
#[derive(Debug)]
pub(crate) struct Permit {
    limiter: Arc<Limiter>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Permit {
    /// Tells the controller what an attempt at the request met.
    pub(crate) fn answered(&self, answer: Answer) {
        let mut state = self.limiter.state();
        let before = state.controller.limit();
        state.controller.answered(answer);
        let after = state.controller.limit();
        if after > before {
            let paid = (after - before).min(state.owed);
            state.owed -= paid;
            self.limiter.semaphore.add_permits(after - before - paid);
        } else if after < before {
            let taken = self.limiter.semaphore.forget_permits(before - after);
            state.owed += before - after - taken;
        }
        if after != before {
            tracing::debug!(was = before, limit = after, "bulk concurrency");
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.limiter.state();
        state.controller.finished();
        let permit = self.permit.take().expect("dropped once");
        if state.owed > 0 {
            state.owed -= 1;
            permit.forget();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn more_requests_at_once_send_smaller_bodies_and_hold_no_more() {
        assert_eq!(body_bytes(1), 5 * MIB);
        assert_eq!(body_bytes(2), 5 * MIB / 2);
        for limit in 1..=MAX {
            assert!(limit * body_bytes(limit) <= IN_FLIGHT_BYTES, "{limit}");
            assert!(body_bytes(limit) >= 640 << 10, "{limit}: a request's own cost stays small beside its body");
        }
    }

    fn took(ms: u64) -> Answer {
        Answer::Took(Duration::from_millis(ms), 5 * MIB)
    }

    /// Sends `limit` requests at once (as many as it lets) and answers them all with `answer`.
    fn round(controller: &mut Controller, answer: Answer) -> usize {
        let n = controller.limit();
        (0..n).for_each(|_| controller.started());
        (0..n).for_each(|_| controller.answered(answer));
        (0..n).for_each(|_| controller.finished());
        controller.limit()
    }

    #[test]
    fn the_limit_climbs_by_one_while_answers_are_as_quick() {
        let mut controller = Controller::new(Concurrency::Adaptive);
        assert_eq!(controller.limit(), INITIAL);
        let limits: Vec<usize> = (0..10).map(|_| round(&mut controller, took(500))).collect();
        // The first round sets the quickest time; each after it adds one, up to the maximum.
        assert_eq!(limits, [1, 2, 3, 4, 5, 6, 7, 8, 8, 8]);
    }

    #[test]
    fn a_sender_that_never_fills_the_limit_does_not_raise_it() {
        let mut controller = Controller::new(Concurrency::Adaptive);
        (0..3).for_each(|_| _ = round(&mut controller, took(500)));
        assert_eq!(controller.limit(), 3);
        for _ in 0..10 {
            controller.started();
            controller.answered(took(500));
            controller.finished();
        }
        assert_eq!(controller.limit(), 3, "one request at a time is no evidence that more would pass");
    }

    #[test]
    fn back_pressure_halves_the_limit_down_to_one() {
        let mut controller = Controller::new(Concurrency::Adaptive);
        (0..8).for_each(|_| _ = round(&mut controller, took(500)));
        assert_eq!(controller.limit(), 8);
        let limits: Vec<usize> = (0..4).map(|_| round(&mut controller, Answer::BackPressure)).collect();
        assert_eq!(limits, [4, 2, 1, 1]);
        // Quick answers again: it climbs back one at a time.
        let limits: Vec<usize> = (0..3).map(|_| round(&mut controller, took(500))).collect();
        assert_eq!(limits, [2, 3, 4]);
    }

    #[test]
    fn one_429_in_a_round_is_enough() {
        let mut controller = Controller::new(Concurrency::Adaptive);
        (0..4).for_each(|_| _ = round(&mut controller, took(500)));
        assert_eq!(controller.limit(), 4);
        (0..4).for_each(|_| controller.started());
        [took(500), Answer::BackPressure, took(500), took(500)].into_iter().for_each(|a| controller.answered(a));
        (0..4).for_each(|_| controller.finished());
        assert_eq!(controller.limit(), 2);
    }

    #[test]
    fn a_saturated_cluster_holds_the_limit_where_one_request_waits() {
        let mut controller = Controller::new(Concurrency::Adaptive);
        // Each answer takes as long as the requests under way: the cluster does one at a time.
        let limits: Vec<usize> = (0..20)
            .map(|_| {
                let took = took(500 * controller.limit() as u64);
                round(&mut controller, took)
            })
            .collect();
        // At 2 one waits: it climbs no further.
        assert_eq!(limits, [1; 1].into_iter().chain([2; 19]).collect::<Vec<_>>());
    }

    #[test]
    fn requests_waiting_in_the_cluster_lower_the_limit_and_slower_answers_hold_it() {
        let mut controller = Controller::new(Concurrency::Adaptive);
        (0..6).for_each(|_| _ = round(&mut controller, took(500)));
        assert_eq!(controller.limit(), 6);
        // 6 · (1 − 500/700) = 1.7 waiting: held.
        assert_eq!(round(&mut controller, took(700)), 6);
        // 6 · (1 − 500/900) = 2.7 waiting: a tenth fewer, at least one fewer.
        assert_eq!(round(&mut controller, took(900)), 5);
        // 5 · (1 − 500/5000) = 4.5: one fewer again.
        assert_eq!(round(&mut controller, took(5000)), 4);
        // As quick as the quickest again: one more.
        assert_eq!(round(&mut controller, took(500)), 5);
    }

    #[test]
    fn a_small_body_is_timed_as_a_nominal_one_and_a_failure_is_not_timed() {
        let mut controller = Controller::new(Concurrency::Adaptive);
        (0..4).for_each(|_| _ = round(&mut controller, took(500)));
        assert_eq!(controller.limit(), 4);
        // 5 MiB in 500 ms is 100 ms per MiB; 10 KiB in 100 ms is 100 ms per (nominal) MiB.
        assert_eq!(round(&mut controller, Answer::Took(Duration::from_millis(100), 10 << 10)), 5);
        // A connection refused says nothing of load: the round has no time, and holds.
        assert_eq!(round(&mut controller, Answer::Failed), 5);
    }

    #[test]
    fn a_fixed_limit_never_moves() {
        let mut controller = Controller::new(Concurrency::Fixed(3));
        for answer in [took(500), took(500), Answer::BackPressure, took(5000), took(1)] {
            assert_eq!(round(&mut controller, answer), 3);
        }
        assert_eq!(Controller::new(Concurrency::Fixed(99)).limit(), MAX);
    }

    #[test]
    fn a_setting_is_adaptive_or_a_number_in_range() {
        assert_eq!("adaptive".parse(), Ok(Concurrency::Adaptive));
        assert_eq!("4".parse(), Ok(Concurrency::Fixed(4)));
        for bad in ["0", "9", "two", ""] {
            assert!(bad.parse::<Concurrency>().unwrap_err().contains("from 1 to 8"), "{bad}");
        }
    }

    #[test]
    fn permits_follow_the_limit_and_a_lowered_limit_takes_back_the_permits_out() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let limiter = Limiter::new(Concurrency::Adaptive);
            let a = limiter.acquire().await;
            // Two rounds of one quick answer: room for a second.
            a.answered(took(500));
            a.answered(took(500));
            assert_eq!(limiter.limit(), 2);
            // Two out: back pressure halves the limit to one while both are out.
            let b = limiter.acquire().await;
            assert_eq!(limiter.semaphore.available_permits(), 0);
            a.answered(Answer::BackPressure);
            b.answered(Answer::BackPressure);
            assert_eq!(limiter.limit(), 1);
            drop(a);
            assert_eq!(limiter.semaphore.available_permits(), 0, "the first permit back is taken away");
            drop(b);
            assert_eq!(limiter.semaphore.available_permits(), 1);
            let c = limiter.acquire().await;
            assert!(limiter.semaphore.try_acquire().is_err(), "one at a time now");
            drop(c);
        });
    }
}
