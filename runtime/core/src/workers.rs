//! Inputs on every core: the inputs of one batch (an invocation's objects, the files of a
//! `kelk ingest`) taken by a few threads at once, each with a lane of its own (its sink and
//! dead letters, and a plugin session per input), so memory is the lanes' count times one
//! input's bound.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The cores this process may use: the workers to run when none are configured.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Does `work` on each item, on as many threads as there are `lanes` (no more than items),
/// each thread taking the next item not yet taken with its own lane; the results in the
/// items' order. With one lane or one item, on this thread.
pub fn each<T: Sync, L: Send, R: Send>(items: &[T], lanes: &mut [L], work: impl Fn(&mut L, &T) -> R + Sync) -> Vec<R> {
    let threads = lanes.len().min(items.len());
    if threads <= 1 {
        let Some(lane) = lanes.first_mut() else { return Vec::new() };
        return items.iter().map(|item| work(lane, item)).collect();
    }
    let next = AtomicUsize::new(0);
    let done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let taking = lanes[..threads].iter_mut().map(|lane| {
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                let mut done = Vec::new();
                loop {
                    let at = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(at) else { return done };
                    done.push((at, work(lane, item)));
                }
            })
        });
        let taking: Vec<_> = taking.collect();
        taking.into_iter().flat_map(|t| t.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let mut results: Vec<Option<R>> = std::iter::repeat_with(|| None).take(items.len()).collect();
    for (at, result) in done {
        results[at] = Some(result);
    }
    results.into_iter().map(|r| r.expect("every item is taken once")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_in_order_on_each_lane() {
        let items: Vec<u32> = (0..100).collect();
        for lanes in [0, 1, 2, 8, 200] {
            let mut taken = vec![0u32; lanes];
            let results = each(&items, &mut taken, |taken, &item| {
                *taken += 1;
                item * 2
            });
            match lanes {
                0 => assert!(results.is_empty()),
                _ => assert_eq!(results, items.iter().map(|i| i * 2).collect::<Vec<_>>(), "{lanes} lanes"),
            }
            assert_eq!(taken.iter().sum::<u32>(), if lanes == 0 { 0 } else { 100 });
        }
    }
}
