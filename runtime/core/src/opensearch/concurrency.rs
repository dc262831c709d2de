//! How many bulk requests are under way at once: a limit the cluster's answers move, as Vector's
//! adaptive request concurrency does. Additive increase, multiplicative decrease: one more
//! request in flight after a round of answers as quick as before while the sender had more to
//! send than the limit let through; half as many after a round with a 429 or 5xx (the cluster
//! says its queues are full); a tenth fewer (at least one) after a round markedly slower than
//! the moving average (the cluster queues what it cannot yet say no to). Or a fixed limit,
//! for a cluster whose owner knows what it takes.
//!
//! The limit is one per process ([`Limiter`], which a [`super::Cluster`] and its clones share),
//! whichever inputs send at once. A request holds its permit from before its body is handed
//! over until it is settled, its retries included, so at most `limit` bodies are on their way
//! to the cluster: at most [`MAX`] · [`super::BULK_BYTES`] bytes held in flight.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The most requests under way at once: 8 bodies of 5 MiB, 40 MiB in flight at most.
pub const MAX: usize = 8;
/// Where an adaptive limit starts: parsing and one request overlap, and a second is ready.
const INITIAL: usize = 2;
/// The weight of a new round in the moving averages.
const EWMA_ALPHA: f64 = 0.4;
/// A round slower than the average by this many standard deviations is the cluster queueing.
const DEVIATIONS: f64 = 2.5;
/// The limit kept after a round markedly slower than the average.
const SLOWER_RATIO: f64 = 0.9;
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

/// A moving average and variance.
#[derive(Clone, Copy, Debug)]
struct Ewma {
    mean: f64,
    variance: f64,
}

impl Ewma {
    fn update(&mut self, x: f64) {
        let difference = x - self.mean;
        let increment = EWMA_ALPHA * difference;
        self.mean += increment;
        self.variance = (1.0 - EWMA_ALPHA) * (self.variance + difference * increment);
    }
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
    /// The seconds per MiB of past rounds, once one was measured.
    past: Option<Ewma>,
    round: Round,
}

impl Controller {
    pub(crate) fn new(concurrency: Concurrency) -> Self {
        let (limit, adaptive) = match concurrency {
            Concurrency::Adaptive => (INITIAL, true),
            Concurrency::Fixed(n) => (n.clamp(1, MAX), false),
        };
        Controller { limit, adaptive, in_flight: 0, past: None, round: Round::default() }
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
        // Within rounding of the average is as quick as it: sums of equal times are not always equal.
        let slack = |past: &Ewma| past.mean * 1e-9;
        let slower = |past: &Ewma, current: f64| current > past.mean + DEVIATIONS * past.variance.sqrt() + slack(past);
        self.limit = match (self.past, current) {
            _ if round.back_pressure => (self.limit / 2).max(1),
            (Some(past), Some(current)) if slower(&past, current) => {
                ((self.limit as f64 * SLOWER_RATIO) as usize).min(self.limit - 1).max(1)
            }
            (Some(past), Some(current)) if round.reached_limit && current <= past.mean + slack(&past) => {
                (self.limit + 1).min(MAX)
            }
            _ => self.limit,
        };
        if let Some(current) = current {
            self.past.get_or_insert(Ewma { mean: current, variance: 0.0 }).update(current);
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
        // The first round sets the average; each after it adds one, up to the maximum.
        assert_eq!(limits, [2, 3, 4, 5, 6, 7, 8, 8, 8, 8]);
    }

    #[test]
    fn a_sender_that_never_fills_the_limit_does_not_raise_it() {
        let mut controller = Controller::new(Concurrency::Adaptive);
        for _ in 0..10 {
            controller.started();
            controller.answered(took(500));
            controller.finished();
        }
        assert_eq!(controller.limit(), INITIAL, "one request at a time is no evidence that more would pass");
    }

    #[test]
    fn back_pressure_halves_the_limit_down_to_one() {
        let mut controller = Controller::new(Concurrency::Adaptive);
        (0..7).for_each(|_| _ = round(&mut controller, took(500)));
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
        (0..3).for_each(|_| _ = round(&mut controller, took(500)));
        assert_eq!(controller.limit(), 4);
        (0..4).for_each(|_| controller.started());
        [took(500), Answer::BackPressure, took(500), took(500)].into_iter().for_each(|a| controller.answered(a));
        (0..4).for_each(|_| controller.finished());
        assert_eq!(controller.limit(), 2);
    }

    #[test]
    fn rising_latency_lowers_the_limit_and_flat_latency_holds_it_when_it_is_not_quicker() {
        let mut controller = Controller::new(Concurrency::Adaptive);
        (0..5).for_each(|_| _ = round(&mut controller, took(500)));
        assert_eq!(controller.limit(), 6);
        // Markedly slower than the average (whose deviation is nil): the cluster is queueing.
        assert_eq!(round(&mut controller, took(900)), 5);
        // Slower than the average, within its deviation now: held.
        assert_eq!(round(&mut controller, took(700)), 5);
        // A tenth fewer, at least one fewer.
        assert_eq!(round(&mut controller, took(5000)), 4);
    }

    #[test]
    fn a_small_body_is_timed_as_a_nominal_one_and_a_failure_is_not_timed() {
        let mut controller = Controller::new(Concurrency::Adaptive);
        (0..3).for_each(|_| _ = round(&mut controller, took(500)));
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
            // Two out: back pressure halves the limit to one while both are out.
            let (a, b) = (limiter.acquire().await, limiter.acquire().await);
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
