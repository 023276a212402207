//! Replay protection: remembering accepted (key id, nonce) pairs.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use crate::error::{Error, ErrorCode, Result};

/// Remembers accepted (kid, nonce) pairs so each is accepted once.
///
/// Implementations must make the check and the insert one atomic step, so
/// that two concurrent verifications of the same call cannot both succeed.
/// A store that forgets pairs must refuse any pair it might have forgotten:
/// the clocks of concurrent requests are not ordered, so a replay can arrive
/// with an earlier `now` than the one that let the store forget (SPEC.md §8).
pub trait NonceStore: Send + Sync {
    /// Records `(kid, nonce)` until `remember_until_ms`, or fails with
    /// [`ErrorCode::Replayed`] if the pair is already recorded. `now_ms` lets
    /// the store forget pairs whose time has passed.
    fn remember(&self, kid: &str, nonce: &str, remember_until_ms: u64, now_ms: u64) -> Result<()>;
}

/// An in-memory [`NonceStore`] for one process, safe to share between threads.
///
/// Entries are dropped once their `remember_until` has passed; the pruning
/// is amortized over inserts. A pair whose `remember_until` is at or before
/// that of a dropped entry is refused as `replayed`, since it may have been
/// accepted and dropped.
#[derive(Debug, Default)]
pub struct MemoryNonceStore {
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    until: HashMap<(String, String), u64>,
    by_expiry: BTreeSet<(u64, String, String)>,
    /// The latest `remember_until` among dropped entries: a pair whose own
    /// is at or before it may have been accepted and dropped.
    dropped_through: Option<u64>,
}

impl MemoryNonceStore {
    /// An empty store.
    pub fn new() -> MemoryNonceStore {
        MemoryNonceStore::default()
    }

    /// How many pairs are currently remembered (expired ones may linger until
    /// the next insert).
    pub fn len(&self) -> usize {
        self.lock().until.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave the maps inconsistent
        // (each operation updates both before returning), so keep going.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl NonceStore for MemoryNonceStore {
    fn remember(&self, kid: &str, nonce: &str, remember_until_ms: u64, now_ms: u64) -> Result<()> {
        let mut entries = self.lock();
        entries.forget_before(now_ms);
        if let Some(dropped) = entries.dropped_through.filter(|&d| remember_until_ms <= d) {
            return Err(Error::new(
                ErrorCode::Replayed,
                format!(
                    "nonce {nonce} of key {kid:?} may already have been accepted: its record would \
                     end at {remember_until_ms}, and records ending as late as {dropped} have been \
                     dropped (another request's clock read later than this one's)"
                ),
            ));
        }
        let key = (kid.to_owned(), nonce.to_owned());
        if let Some(&until) = entries.until.get(&key) {
            return Err(Error::new(
                ErrorCode::Replayed,
                format!(
                    "nonce {nonce} of key {kid:?} was already accepted; it is remembered until {until}"
                ),
            ));
        }
        entries
            .by_expiry
            .insert((remember_until_ms, key.0.clone(), key.1.clone()));
        entries.until.insert(key, remember_until_ms);
        Ok(())
    }
}

impl Entries {
    /// Drops pairs whose `remember_until` is before `now`: from then on the
    /// verifier rejects the call as expired anyway.
    fn forget_before(&mut self, now: u64) {
        while let Some(first) = self.by_expiry.first() {
            if first.0 >= now {
                break;
            }
            let (until, kid, nonce) = self.by_expiry.pop_first().expect("non-empty");
            self.until.remove(&(kid, nonce));
            // Popped in order of expiry, so this is the latest so far.
            self.dropped_through = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_once_then_forgets_after_expiry() {
        let store = MemoryNonceStore::new();
        store.remember("k", "n1", 100, 0).unwrap();
        assert_eq!(
            store.remember("k", "n1", 100, 50).unwrap_err().code(),
            ErrorCode::Replayed
        );
        // Same nonce under another key is a different pair.
        store.remember("k2", "n1", 100, 50).unwrap();
        // At exactly remember_until the pair is still remembered.
        assert_eq!(
            store.remember("k", "n1", 200, 100).unwrap_err().code(),
            ErrorCode::Replayed
        );
        store.remember("k", "n1", 300, 101).unwrap();
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn refuses_what_it_may_have_forgotten_when_clocks_disagree() {
        let store = MemoryNonceStore::new();
        store.remember("k", "a", 100, 10).unwrap();
        // A request whose clock reads 101 lets the store drop ("k", "a")...
        store.remember("k", "b", 200, 101).unwrap();
        assert_eq!(store.len(), 1);
        // ...so a replay of "a" verified with an earlier clock (still inside
        // its window) must not be accepted again.
        let err = store.remember("k", "a", 100, 99).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Replayed);
        // Pairs the store cannot have dropped are unaffected.
        store.remember("k", "c", 101, 99).unwrap();
        assert_eq!(
            store.remember("k", "d", 100, 99).unwrap_err().code(),
            ErrorCode::Replayed
        );
        assert_eq!(
            store.remember("k", "b", 200, 99).unwrap_err().code(),
            ErrorCode::Replayed
        );
    }
}
