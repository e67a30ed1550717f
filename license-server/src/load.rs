//! Who goes first: the requests a process is serving, and the background work beside them
//! (its queue workers, their database writes), which gives way.
//!
//! A burst of work must back the queue up, not slow the API. Where workers share a process
//! with the HTTP server (`serve`, and its `--workers`), each of their database writes takes a
//! [`Load::turn`]: one at a time across the process, and while the requests keep coming only
//! within a share of the time ([`BACKGROUND_SHARE`]); beyond it, once no request has been
//! served for [`IDLE`], or after [`GIVE_WAY`] at most. Under a steady stream of requests
//! background work slows down but never stops, and the requests meet at most that share of
//! background writes, rather than every worker's delayed writes at once when their waits run
//! out together. (Waiting for a request to end is not enough: the next one usually follows
//! within a millisecond, and would meet the worker's transaction halfway.)
//!
//! The share is what keeps a sustained load from starving the queue: with pauses alone, a
//! saturating load let one background write through per [`GIVE_WAY`], five a second for all
//! of a process's deliveries, imports and fan-out, and the webhook backlog of a ten-minute
//! soak grew without end (docs/benchmarks.md, "The soak"). (Worker threads also run at a lower
//! scheduling priority: see `queue::runtime`.) Workers in processes of their own (`fount-server
//! worker`) serve no request, so nothing holds them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// The longest background work waits for the requests to pause.
pub const GIVE_WAY: Duration = Duration::from_millis(200);
/// How long without a request counts as a pause.
pub const IDLE: Duration = Duration::from_millis(5);
/// The share of the time background writes may hold their turn while requests keep coming.
pub const BACKGROUND_SHARE: f64 = 0.1;
/// The most background time saved up while there is none to do, so that work arriving after
/// a quiet stretch cannot hold the writer for long at once.
const SHARE_BURST: Duration = Duration::from_millis(20);

/// The background time in hand: it grows with [`BACKGROUND_SHARE`] of the time passed, up to
/// [`SHARE_BURST`], and each turn taken on it spends the time the turn was held (going into
/// debt when a write outlasts it).
#[derive(Debug)]
struct Share {
    credit_s: f64,
    at: Instant,
}

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
    share: std::sync::Mutex<Share>,
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
            share: std::sync::Mutex::new(Share { credit_s: 0.0, at: Instant::now() }),
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

/// A background write's turn ([`Load::turn`]); the next may start when it is dropped.
pub struct Turn<'a> {
    _guard: tokio::sync::MutexGuard<'a, ()>,
    load: &'a Load,
    since: Instant,
    ran: Option<Duration>,
    on_share: bool,
}

impl Turn<'_> {
    /// How long the write itself ran, where it waited before running: on SQLite, behind the
    /// requests' writes queued for the one writer. Only the running delays the requests, so
    /// only that is spent from the share; without it, the whole turn is.
    pub fn ran_for(&mut self, ran: Duration) {
        self.ran = Some(ran);
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if self.on_share {
            let held = self.ran.unwrap_or_else(|| self.since.elapsed());
            let mut share = self.load.share.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            share.credit_s -= held.as_secs_f64();
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

    /// Waits for this process's background writes before it, then, unless its share of the
    /// time has some left ([`BACKGROUND_SHARE`]), for a pause in requests ([`Load::quiet`]
    /// with [`GIVE_WAY`]); the write goes ahead while the turn is held. In a process that has
    /// served no request (a `fount-server worker`), at once and without a turn: its writes run
    /// side by side.
    pub async fn turn(&self) -> Option<Turn<'_>> {
        if !self.serves.load(Ordering::Relaxed) {
            return None;
        }
        let guard = self.turn.lock().await;
        let on_share = self.share_left();
        if !on_share {
            let _ = self.quiet(GIVE_WAY).await;
        }
        Some(Turn { _guard: guard, load: self, since: Instant::now(), ran: None, on_share })
    }

    /// Whether background work has time left in its share now.
    pub fn share_left(&self) -> bool {
        // A poisoned lock only means a panic elsewhere while it was held: the figures in it
        // are still numbers.
        let mut share = self.share.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let earned = now.duration_since(share.at).as_secs_f64() * BACKGROUND_SHARE;
        share.credit_s = (share.credit_s + earned).min(SHARE_BURST.as_secs_f64());
        share.at = now;
        share.credit_s > 0.0
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
    async fn past_its_share_background_writes_go_one_per_give_way() {
        let load = Arc::new(Load::default());
        // No request served yet (as in a worker process): no turns.
        let t = Instant::now();
        let (a, b) = tokio::join!(load.turn(), load.turn());
        assert!(a.is_none() && b.is_none() && t.elapsed() < GIVE_WAY);
        let _serving = load.enter();
        let t = Instant::now();
        // Writes of 50 ms each: the first goes on the share, and puts it in debt for longer
        // than the rest take.
        let writes: Vec<_> = (0..3)
            .map(|_| {
                let load = load.clone();
                tokio::spawn(async move {
                    let _turn = load.turn().await;
                    let went = t.elapsed();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    went
                })
            })
            .collect();
        let mut times = Vec::new();
        for w in writes {
            times.push(w.await.unwrap());
        }
        times.sort();
        assert!(times[0] < GIVE_WAY, "the first write waited {:?}", times[0]);
        for (n, at) in (1..).zip(&times[1..]) {
            let due = GIVE_WAY.saturating_mul(n);
            assert!(*at >= due, "write {n} after the first went at {at:?}, before {due:?}");
        }
    }

    #[tokio::test]
    async fn under_steady_requests_background_writes_get_their_share() {
        let load = Arc::new(Load::default());
        let _serving = load.enter();
        let t = Instant::now();
        let (mut writes, mut held) = (0u32, Duration::ZERO);
        while t.elapsed() < Duration::from_secs(1) {
            let _turn = load.turn().await;
            let went = Instant::now();
            tokio::time::sleep(Duration::from_millis(2)).await;
            held += went.elapsed();
            writes += 1;
        }
        // Pauses alone would let 5 through in the second (one per GIVE_WAY); the share lets
        // about 0.1 s of them through, and not much more.
        assert!(writes >= 20, "{writes} writes in {:?}", t.elapsed());
        let most = t.elapsed().as_secs_f64() * BACKGROUND_SHARE + SHARE_BURST.as_secs_f64() + 6.0 * 0.004;
        assert!(held.as_secs_f64() <= most, "background writes held {held:?} of {:?}", t.elapsed());
    }
}
