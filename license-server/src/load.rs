//! Who goes first: the requests a process is serving, and the background work beside them
//! (its queue workers, their database writes), which gives way.
//!
//! A burst of work must back the queue up, not slow the API. Where workers share a process
//! with the HTTP server (`serve`, and its `--workers`), each of their database writes takes a
//! [`Load::turn`]: one at a time across the process, once no request has been served for
//! [`IDLE`], or after [`GIVE_WAY`] at most. Under a steady stream of requests they slow down
//! (to one write per [`GIVE_WAY`], however many jobs are in hand), but never stop: the
//! requests then meet at most that many background writes, rather than every worker's
//! delayed writes at once when their waits run out together. (Waiting for a request
//! to end is not enough: the next one usually follows within a millisecond, and would meet
//! the worker's transaction halfway.) (Their threads also run at a
//! lower scheduling priority: see `queue::runtime`.) Workers in processes of their own
//! (`fount-server worker`) serve no request, so nothing holds them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The longest background work waits for the requests to pause.
pub const GIVE_WAY: Duration = Duration::from_millis(200);
/// How long without a request counts as a pause.
pub const IDLE: Duration = Duration::from_millis(5);

/// The requests this process is serving (see the module).
#[derive(Debug)]
pub struct Load {
    in_flight: AtomicUsize,
    /// When the last request ended, in ms since `epoch`.
    last_end: AtomicU64,
    epoch: Instant,
    quiet: Notify,
    /// Held by the background write under way (see [`Load::turn`]).
    turn: tokio::sync::Mutex<()>,
    /// Whether this process has served a request: a `fount-server worker` never does, and its
    /// writes need no turns.
    serves: std::sync::atomic::AtomicBool,
}

impl Default for Load {
    fn default() -> Self {
        Load {
            in_flight: AtomicUsize::new(0),
            last_end: AtomicU64::new(0),
            epoch: Instant::now(),
            quiet: Notify::new(),
            turn: tokio::sync::Mutex::new(()),
            serves: std::sync::atomic::AtomicBool::new(false),
        }
    }
}

/// A request being served; ends when dropped.
pub struct Serving(Arc<Load>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.last_end.store(self.0.now(), Ordering::SeqCst);
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.quiet.notify_waiters();
        }
    }
}

impl Load {
    /// A request starts.
    pub fn enter(self: &Arc<Self>) -> Serving {
        self.serves.store(true, Ordering::Relaxed);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        Serving(self.clone())
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Waits for this process's background writes before it, then for a pause in requests
    /// ([`Load::quiet`] with [`GIVE_WAY`]); the write goes ahead while the turn is held. In a
    /// process that has served no request (a `fount-server worker`), at once and without a
    /// turn: its writes run side by side.
    pub async fn turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if !self.serves.load(Ordering::Relaxed) {
            return None;
        }
        let turn = self.turn.lock().await;
        let _ = self.quiet(GIVE_WAY).await;
        Some(turn)
    }

    /// Waits until no request has been served for [`IDLE`], or `max`; `false` if `max` came
    /// first (the requests did not pause).
    pub async fn quiet(&self, max: Duration) -> bool {
        let Some(deadline) = tokio::time::Instant::now().checked_add(max) else { return false };
        let idle = u64::try_from(IDLE.as_millis()).unwrap_or(u64::MAX);
        loop {
            let ended = self.quiet.notified();
            tokio::pin!(ended);
            // Registered before the check, so a notification between the two is not missed.
            ended.as_mut().enable();
            let wait = if self.in_flight.load(Ordering::SeqCst) > 0 {
                // Until the requests end (or the deadline).
                None
            } else {
                let since = self.now().saturating_sub(self.last_end.load(Ordering::SeqCst));
                match idle.checked_sub(since) {
                    None | Some(0) => return true,
                    Some(left) => Some(Duration::from_millis(left)),
                }
            };
            let until =
                wait.and_then(|w| tokio::time::Instant::now().checked_add(w)).map_or(deadline, |u| u.min(deadline));
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            let _ = tokio::time::timeout_at(until, ended).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn background_work_waits_for_a_pause_in_requests_but_not_forever() {
        let load = Arc::new(Load::default());
        // Idle from the start.
        let t = Instant::now();
        assert!(load.quiet(Duration::from_secs(1)).await);
        assert!(t.elapsed() < Duration::from_millis(20));
        // A request in flight holds it back until the deadline.
        let serving = load.enter();
        let t = Instant::now();
        assert!(!load.quiet(Duration::from_millis(60)).await);
        assert!(t.elapsed() >= Duration::from_millis(60));
        // A request that just ended holds it back for the idle time.
        drop(serving);
        let t = Instant::now();
        assert!(load.quiet(Duration::from_secs(1)).await);
        let waited = t.elapsed();
        assert!(waited >= Duration::from_millis(3) && waited < Duration::from_millis(200), "{waited:?}");
    }

    #[tokio::test]
    async fn under_steady_requests_background_writes_go_one_per_give_way() {
        let load = Arc::new(Load::default());
        // No request served yet (as in a worker process): no turns.
        let t = Instant::now();
        let (a, b) = tokio::join!(load.turn(), load.turn());
        assert!(a.is_none() && b.is_none() && t.elapsed() < GIVE_WAY);
        let _serving = load.enter();
        let t = Instant::now();
        let writes: Vec<_> = (0..3)
            .map(|_| {
                let load = load.clone();
                tokio::spawn(async move {
                    let _turn = load.turn().await;
                    t.elapsed()
                })
            })
            .collect();
        let mut times = Vec::new();
        for w in writes {
            times.push(w.await.unwrap());
        }
        times.sort();
        for (n, at) in (1..).zip(&times) {
            let due = GIVE_WAY.saturating_mul(n);
            assert!(*at >= due, "write {n} went at {at:?}, before {due:?}");
        }
    }
}
