//! Replay protection: remembering accepted (key id, nonce) pairs.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use crate::error::{Error, ErrorCode, Result};

/// Remembers accepted (kid, nonce) pairs so each is accepted once.
///
/// Implementations must make the check and the insert one atomic step, so
/// that two concurrent verifications of the same call cannot both succeed.
pub trait NonceStore: Send + Sync {
    /// Records `(kid, nonce)` until `remember_until_ms`, or fails with
    /// [`ErrorCode::Replayed`] if the pair is already recorded. `now_ms` lets
    /// the store forget pairs whose time has passed.
    fn remember(&self, kid: &str, nonce: &str, remember_until_ms: u64, now_ms: u64) -> Result<()>;
}

/// An in-memory [`NonceStore`] for one process, safe to share between threads.
///
/// Entries are dropped once their `remember_until` has passed; the pruning
/// is amortized over inserts.
#[derive(Debug, Default)]
pub struct MemoryNonceStore {
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    until: HashMap<(String, String), u64>,
    by_expiry: BTreeSet<(u64, String, String)>,
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
            let (_, kid, nonce) = self.by_expiry.pop_first().expect("non-empty");
            self.until.remove(&(kid, nonce));
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
}
