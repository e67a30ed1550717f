//! Telling every process that a row it may cache has changed.
//!
//! Replicas cache the rows the issuing path reads on every license (a store's settings, a
//! title's key) and hold the signing keys in memory. On PostgreSQL a change is announced with `NOTIFY` on [`CHANNEL`], which every
//! replica `LISTEN`s to ([`ChangeFeed`]), so a store-settings change is seen everywhere within
//! a round trip rather than after the cache's expiry. The expiry stays as the backstop for a
//! notification that never came (a process killed between its commit and its `NOTIFY`).
//!
//! SQLite is one machine, whose processes share no channel: its caches rely on expiry, and on
//! each process forgetting its own changes at once.

use async_trait::async_trait;

use super::DbResult;

/// The PostgreSQL channel changes are announced on.
pub const CHANNEL: &str = "fount_changes";

/// A row that changed, by kind and id. On the wire: `store:<id>` or `title:<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A store's row (its settings).
    Store(String),
    /// A title's row.
    Title(String),
    /// The signing keys (a rotation): every process reloads them, so a token or license
    /// signed with the new key is accepted, and published, everywhere at once.
    Keys,
}

impl Change {
    /// The notification's payload.
    pub fn encode(&self) -> String {
        match self {
            Change::Store(id) => format!("store:{id}"),
            Change::Title(id) => format!("title:{id}"),
            Change::Keys => "keys:".to_owned(),
        }
    }

    /// A payload read back; `None` for one this version does not know (a newer replica's).
    pub fn decode(payload: &str) -> Option<Self> {
        match payload.split_once(':')? {
            ("store", id) => Some(Change::Store(id.to_owned())),
            ("title", id) => Some(Change::Title(id.to_owned())),
            ("keys", "") => Some(Change::Keys),
            _ => None,
        }
    }
}

/// What a [`ChangeFeed`] heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A row changed.
    Change(Change),
    /// The connection was lost and has been made again: whatever was announced meanwhile is
    /// unknown, so every cached row must be dropped.
    Lost,
}

/// Changes announced by any process.
#[async_trait]
pub trait ChangeFeed: Send {
    /// The next change. Waits as long as it takes.
    async fn next(&mut self) -> Heard;
}

/// Announcing and hearing changes (see the module's documentation).
#[async_trait]
pub trait Changes {
    /// Tells every process that `change` was committed. A no-op on SQLite.
    async fn announce(&self, change: &Change) -> DbResult<()>;
    /// The changes announced from now on; `None` on SQLite, which has no channel.
    async fn change_feed(&self) -> DbResult<Option<Box<dyn ChangeFeed>>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        for c in [Change::Store("s-1".into()), Change::Title("0b7c:x".into()), Change::Keys] {
            assert_eq!(Change::decode(&c.encode()), Some(c));
        }
        assert_eq!(Change::decode("widget:1"), None);
        assert_eq!(Change::decode("store"), None);
    }
}
