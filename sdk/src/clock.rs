//! The clock-rollback guard.
//!
//! The core never reads a clock: the host passes the time in. A host that passes the device's
//! clock passes whatever the user set it to, so a rental could be stretched by setting the
//! clock back. [`ClockGuard`] keeps the latest time already trusted (which the host persists
//! between runs) and refuses a time earlier than it by more than [`ClockGuard::TOLERANCE`].
//! Times signed by the server, such as a license's `iat`, raise the trusted time too, so a
//! clock set back before a license was even issued is caught on first use.
//!
//! Only a [`TrustedTime`] opens a license, and only a guard makes one.

use crate::{Error, Result};

/// A guard over the host's clock. Persist [`ClockGuard::latest`] and pass it back to
/// [`ClockGuard::new`] on the next start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockGuard {
    latest: i64,
}

/// A time, in seconds since the Unix epoch, that has passed the rollback check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TrustedTime(i64);

impl TrustedTime {
    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.0
    }
}

impl ClockGuard {
    /// How far behind the trusted time a clock may read before it counts as set back: covers
    /// ordinary drift, NTP corrections and a server clock a little ahead of the device's.
    pub const TOLERANCE: i64 = 300;

    /// A guard that has trusted nothing after `latest` (0 on a device's first run).
    pub fn new(latest: i64) -> Self {
        ClockGuard { latest }
    }

    /// The latest trusted time, to persist.
    pub fn latest(&self) -> i64 {
        self.latest
    }

    /// Checks the host's clock reading and, if it passes, trusts it.
    pub fn check(&mut self, now: i64) -> Result<TrustedTime> {
        if now < self.latest.saturating_sub(Self::TOLERANCE) {
            return Err(Error::ClockRolledBack { now, trusted: self.latest });
        }
        self.latest = self.latest.max(now);
        Ok(TrustedTime(now))
    }

    /// Raises the trusted time to a time the server vouched for (a signed `iat`, or the time in
    /// a response the host authenticated). Never lowers it.
    pub fn observe_server_time(&mut self, server_time: i64) {
        self.latest = self.latest.max(server_time);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_is_fine_back_within_tolerance_is_fine_beyond_is_refused() {
        let mut guard = ClockGuard::new(1_000_000);
        assert_eq!(guard.check(1_000_100).unwrap().unix(), 1_000_100);
        assert_eq!(guard.latest(), 1_000_100);
        assert!(guard.check(1_000_100 - ClockGuard::TOLERANCE).is_ok());
        assert_eq!(
            guard.check(1_000_100 - ClockGuard::TOLERANCE - 1),
            Err(Error::ClockRolledBack { now: 1_000_100 - ClockGuard::TOLERANCE - 1, trusted: 1_000_100 })
        );
        // A refused reading does not lower the trusted time.
        assert_eq!(guard.latest(), 1_000_100);
    }

    #[test]
    fn server_time_raises_but_never_lowers() {
        let mut guard = ClockGuard::new(500);
        guard.observe_server_time(10_000);
        guard.observe_server_time(20);
        assert_eq!(guard.latest(), 10_000);
        assert!(guard.check(9_000).is_err());
        assert!(guard.check(i64::MIN).is_err());
    }
}
