//! Replay protection: remembering accepted (key id, nonce) pairs.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use crate::error::{Error, ErrorCode, Result};

#[cfg(all(feature = "redis", not(target_arch = "wasm32")))]
mod redis;
#[cfg(all(feature = "redis", not(target_arch = "wasm32")))]
pub use self::redis::RedisNonceStore;

/// What a replay store records of an accepted call (SPEC.md §8); built by
/// [`crate::Verified::nonce_record`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NonceRecord<'a> {
    /// Id of the key that signed.
    pub kid: &'a str,
    /// The call's nonce.
    pub nonce: &'a str,
    /// When the call was signed (ms since the epoch): the watermark's unit.
    pub ts: u64,
    /// Until when the record must be kept: `ts + max_age` of the window that
    /// accepted the call.
    pub remember_until: u64,
}

/// Remembers accepted (kid, nonce) pairs so each is accepted once.
///
/// Implementations must make the check and the insert one atomic step, so
/// that two concurrent verifications of the same call cannot both succeed.
/// A store that forgets records must refuse every pair it might have
/// forgotten: it keeps the largest `ts` it has forgotten and refuses any pair
/// signed at or before it (SPEC.md §8). That rule is in `ts` terms so that it
/// holds whatever window a verifier uses, now or later.
pub trait NonceStore: Send + Sync {
    /// Records `record`, or fails with [`ErrorCode::Replayed`] if its pair is
    /// already recorded or may have been forgotten. `now_ms` lets the store
    /// forget records whose time has passed.
    fn remember(&self, record: &NonceRecord<'_>, now_ms: u64) -> Result<()>;
}

/// An in-memory [`NonceStore`] for one process, safe to share between threads.
///
/// Records are forgotten in `ts` order once `now > ts + R`, R being the
/// longest window (`remember_until − ts`) among the records it has accepted;
/// pruning is amortized over inserts. A pair signed at or before the latest
/// forgotten `ts` (the watermark) is refused as `replayed`, since it may have
/// been accepted and forgotten.
///
/// [`MemoryNonceStore::snapshot`] and [`MemoryNonceStore::from_snapshot`]
/// carry its state between runs (`callsign verify --seen` keeps it in a file).
#[derive(Debug, Default)]
pub struct MemoryNonceStore {
    inner: Mutex<Entries>,
}

/// One remembered pair, as a [`StoreSnapshot`] lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredNonce {
    /// Id of the key that signed.
    pub kid: String,
    /// The call's nonce.
    pub nonce: String,
    /// When the call was signed, ms since the epoch.
    pub ts: u64,
    /// Until when the record must be kept, ms since the epoch.
    pub remember_until: u64,
}

/// Everything a [`MemoryNonceStore`] knows, to save it and load it again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreSnapshot {
    /// The remembered pairs, ordered by `ts`, then kid, then nonce.
    pub records: Vec<StoredNonce>,
    /// The latest `ts` among forgotten records: pairs signed at or before it
    /// are refused.
    pub watermark_ts: Option<u64>,
    /// The longest window (`remember_until − ts`) among accepted records: a
    /// record is forgotten once `now > ts + retention_ms`.
    pub retention_ms: u64,
}

#[derive(Debug, Default)]
struct Entries {
    /// (kid, nonce) → remember_until.
    held: HashMap<(String, String), u64>,
    /// The same pairs by (ts, kid, nonce): the order they are forgotten in.
    by_ts: BTreeSet<(u64, String, String)>,
    watermark_ts: Option<u64>,
    retention_ms: u64,
}

impl MemoryNonceStore {
    /// An empty store.
    pub fn new() -> MemoryNonceStore {
        MemoryNonceStore::default()
    }

    /// A store holding what `snapshot` lists.
    pub fn from_snapshot(snapshot: StoreSnapshot) -> MemoryNonceStore {
        let mut entries = Entries {
            watermark_ts: snapshot.watermark_ts,
            retention_ms: snapshot.retention_ms,
            ..Entries::default()
        };
        for r in snapshot.records {
            entries.insert(&r.kid, &r.nonce, r.ts, r.remember_until);
        }
        MemoryNonceStore {
            inner: Mutex::new(entries),
        }
    }

    /// What the store holds now: records, watermark and retention.
    pub fn snapshot(&self) -> StoreSnapshot {
        let entries = self.lock();
        let records = entries
            .by_ts
            .iter()
            .map(|(ts, kid, nonce)| StoredNonce {
                kid: kid.clone(),
                nonce: nonce.clone(),
                ts: *ts,
                remember_until: entries.held[&(kid.clone(), nonce.clone())],
            })
            .collect();
        StoreSnapshot {
            records,
            watermark_ts: entries.watermark_ts,
            retention_ms: entries.retention_ms,
        }
    }

    /// Forgets the records whose time has passed at `now_ms`, raising the
    /// watermark (inserts do this too).
    pub fn forget_expired(&self, now_ms: u64) {
        self.lock().forget_before(now_ms);
    }

    /// How many pairs are currently remembered (expired ones may linger until
    /// the next insert).
    pub fn len(&self) -> usize {
        self.lock().held.len()
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
    fn remember(&self, record: &NonceRecord<'_>, now_ms: u64) -> Result<()> {
        let mut entries = self.lock();
        entries.forget_before(now_ms);
        let NonceRecord { kid, nonce, ts, .. } = *record;
        if let Some(watermark) = entries.watermark_ts.filter(|&w| ts <= w) {
            return Err(Error::new(
                ErrorCode::Replayed,
                format!(
                    "nonce {nonce} of key {kid:?} may already have been accepted: it was signed at \
                     {ts}, and records of calls signed as late as {watermark} have been forgotten"
                ),
            ));
        }
        if let Some(&until) = entries.held.get(&(kid.to_owned(), nonce.to_owned())) {
            return Err(Error::new(
                ErrorCode::Replayed,
                format!(
                    "nonce {nonce} of key {kid:?} was already accepted; it is remembered until {until}"
                ),
            ));
        }
        entries.insert(kid, nonce, ts, record.remember_until);
        Ok(())
    }
}

impl Entries {
    fn insert(&mut self, kid: &str, nonce: &str, ts: u64, remember_until: u64) {
        self.retention_ms = self.retention_ms.max(remember_until.saturating_sub(ts));
        self.by_ts.insert((ts, kid.to_owned(), nonce.to_owned()));
        self.held
            .insert((kid.to_owned(), nonce.to_owned()), remember_until);
    }

    /// Forgets records with `ts + retention < now`, oldest first: from then
    /// on no window the store has served accepts them anyway.
    fn forget_before(&mut self, now: u64) {
        while let Some((ts, _, _)) = self.by_ts.first() {
            if ts.saturating_add(self.retention_ms) >= now {
                break;
            }
            let Some((ts, kid, nonce)) = self.by_ts.pop_first() else {
                break;
            };
            self.held.remove(&(kid, nonce));
            // Forgotten in `ts` order, so this is the latest so far.
            self.watermark_ts = Some(ts);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record<'a>(nonce: &'a str, ts: u64, max_age: u64) -> NonceRecord<'a> {
        NonceRecord {
            kid: "k",
            nonce,
            ts,
            remember_until: ts + max_age,
        }
    }

    #[test]
    fn accepts_once_then_forgets_after_expiry() {
        let store = MemoryNonceStore::new();
        store.remember(&record("n1", 0, 100), 0).unwrap();
        let again = store.remember(&record("n1", 0, 100), 50).unwrap_err();
        assert_eq!(again.code(), ErrorCode::Replayed);
        // Same nonce under another key is a different pair.
        let other_kid = NonceRecord {
            kid: "k2",
            ..record("n1", 0, 100)
        };
        store.remember(&other_kid, 50).unwrap();
        // At exactly remember_until the pair is still remembered.
        let at_edge = store.remember(&record("n1", 0, 100), 100).unwrap_err();
        assert_eq!(at_edge.code(), ErrorCode::Replayed);
        // Past it, both are forgotten; a new call signed later is accepted.
        store.remember(&record("n2", 1, 100), 101).unwrap();
        assert_eq!(store.len(), 1);
        assert_eq!(store.snapshot().watermark_ts, Some(0));
    }

    #[test]
    fn refuses_what_it_may_have_forgotten_when_clocks_disagree() {
        let store = MemoryNonceStore::new();
        store.remember(&record("a", 0, 100), 10).unwrap();
        // A request whose clock reads 101 lets the store forget "a"...
        store.remember(&record("b", 100, 100), 101).unwrap();
        assert_eq!(store.len(), 1);
        // ...so a replay of "a" verified with an earlier clock (still inside
        // its window) must not be accepted again.
        let err = store.remember(&record("a", 0, 100), 99).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Replayed);
        // Pairs signed after the watermark are unaffected.
        store.remember(&record("c", 1, 100), 99).unwrap();
        assert_eq!(
            store
                .remember(&record("b", 100, 100), 99)
                .unwrap_err()
                .code(),
            ErrorCode::Replayed
        );
    }

    #[test]
    fn the_watermark_holds_whatever_window_the_replay_claims() {
        // Accepted under a 1 s window, then forgotten...
        let store = MemoryNonceStore::new();
        store.remember(&record("c1", 0, 1_000), 0).unwrap();
        store.remember(&record("c2", 6_000, 1_000), 6_000).unwrap();
        assert_eq!(store.len(), 1);
        // ...and replayed through a verifier whose window is now 60 s: its
        // remember_until (60 000) lies past anything forgotten, its ts does not.
        let err = store.remember(&record("c1", 0, 60_000), 6_000).unwrap_err();
        assert_eq!(err.code(), ErrorCode::Replayed);
    }

    #[test]
    fn a_long_window_keeps_records_and_the_watermark_behind_it() {
        let store = MemoryNonceStore::new();
        // One call under a 60 s window: the store now keeps records 60 s.
        store.remember(&record("long", 0, 60_000), 0).unwrap();
        // A call under a 1 s window, 5 s later: kept although its own window
        // has passed, so the watermark does not jump ahead of the 60 s window.
        store
            .remember(&record("short", 5_000, 1_000), 5_000)
            .unwrap();
        store
            .remember(&record("third", 9_000, 1_000), 9_000)
            .unwrap();
        assert_eq!(store.len(), 3);
        assert_eq!(store.snapshot().watermark_ts, None);
        // A fresh call under the 60 s window, signed 8 s ago, is accepted.
        store
            .remember(&record("late", 1_000, 60_000), 9_000)
            .unwrap();
        // Replays are still refused, under either window.
        for replay in [record("short", 5_000, 60_000), record("long", 0, 1_000)] {
            let err = store.remember(&replay, 9_500).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Replayed);
        }
    }

    #[test]
    fn a_snapshot_restores_the_same_store() {
        let store = MemoryNonceStore::new();
        store.remember(&record("a", 0, 100), 0).unwrap();
        store.remember(&record("b", 150, 100), 150).unwrap();
        let snapshot = store.snapshot();
        assert_eq!(snapshot.watermark_ts, Some(0));
        assert_eq!(snapshot.retention_ms, 100);
        assert_eq!(snapshot.records.len(), 1);
        let restored = MemoryNonceStore::from_snapshot(snapshot.clone());
        assert_eq!(restored.snapshot(), snapshot);
        for replay in [record("a", 0, 100), record("b", 150, 100)] {
            let err = restored.remember(&replay, 160).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Replayed);
        }
        restored.forget_expired(251);
        assert!(restored.is_empty());
        assert_eq!(restored.snapshot().watermark_ts, Some(150));
    }
}
