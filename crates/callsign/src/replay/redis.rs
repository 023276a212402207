//! A replay store in Redis, shared by every process that verifies the same
//! calls or requests (SPEC.md §8.1). Feature `redis`, native targets.

use std::sync::Mutex;
use std::time::Duration;

use super::{NonceRecord, NonceStore};
use crate::error::{Error, ErrorCode, Result};

/// The check-and-record script, the one copy shared with the npm package.
const SCRIPT: &str = include_str!("redis.lua");

/// A [`NonceStore`] in Redis (≥ 6.2): one atomic script per check-and-record,
/// so that concurrent verifications of one call, from any number of
/// processes and machines, accept it once (SPEC.md §8.1).
///
/// Each pair is a key `<prefix>n:<kid>:<nonce>` created with `SET NX` and an
/// absolute expiry at server time `ts + R + 1` (R the retention); the
/// watermark `<prefix>watermark` is raised to `server time − R − 1` on every
/// check and pairs signed at or before it are refused, so every pair Redis
/// has expired stays refused, whatever window a verifier uses and whatever
/// its clock reads. R must be at least every verifier's `max_age` (a record
/// that needs longer is `misconfigured`); fresh calls older than R by the
/// server's clock are refused as `replayed`.
///
/// When Redis cannot be reached, times out or errs, [`NonceStore::remember`]
/// fails with [`ErrorCode::Unavailable`]: the call is never accepted.
///
/// ```no_run
/// use callsign::{KeySet, RedisNonceStore, Verifier};
/// let store = RedisNonceStore::open("redis://127.0.0.1:6379/")?;
/// let verifier = Verifier::new(&KeySet::parse(&std::env::var("CALLSIGN_KEYS").unwrap())?,
///                              "https://happy-otter-123.convex.cloud")?;
/// # let (signed_args, now) = ("{}", 0);
/// let claims = verifier.verify_once(&store, "messages:send", signed_args, now)?;
/// # Ok::<(), callsign::Error>(())
/// ```
pub struct RedisNonceStore {
    client: redis::Client,
    /// Idle connections; one is taken per check, so that threads run in parallel.
    idle: Mutex<Vec<redis::Connection>>,
    script: redis::Script,
    prefix: String,
    retention_ms: u64,
    timeout: Duration,
}

impl RedisNonceStore {
    /// Default retention R: 120 s, a 60 s `max_age` plus 60 s of clock skew.
    pub const DEFAULT_RETENTION_MS: u64 = 120_000;
    /// Default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "callsign:";
    /// Default time limit for connecting and for each reply.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

    /// A store on the Redis server at `url` (`redis://host:port/db`). Does not
    /// connect yet; a URL that cannot be parsed is `misconfigured` (its text,
    /// which may hold a password, is not shown).
    pub fn open(url: &str) -> Result<RedisNonceStore> {
        let client = redis::Client::open(url).map_err(|_| {
            Error::new(
                ErrorCode::Misconfigured,
                "the Redis URL of the replay store cannot be parsed (expected redis://host:port/db)",
            )
        })?;
        Ok(RedisNonceStore {
            client,
            idle: Mutex::new(Vec::new()),
            script: redis::Script::new(SCRIPT),
            prefix: Self::DEFAULT_PREFIX.to_owned(),
            retention_ms: Self::DEFAULT_RETENTION_MS,
            timeout: Self::DEFAULT_TIMEOUT,
        })
    }

    /// Uses `prefix` for its keys (in a Redis Cluster, a hash-tagged one such
    /// as `{callsign}:`, so that the script's two keys share a slot).
    pub fn with_prefix(mut self, prefix: &str) -> RedisNonceStore {
        self.prefix = prefix.to_owned();
        self
    }

    /// Keeps records for `retention_ms` (R) instead of 120 s: at least the
    /// largest `max_age` of every verifier using this store.
    pub fn with_retention_ms(mut self, retention_ms: u64) -> RedisNonceStore {
        self.retention_ms = retention_ms;
        self
    }

    /// Gives up on connecting and on each reply after `timeout` (`unavailable`).
    pub fn with_timeout(mut self, timeout: Duration) -> RedisNonceStore {
        self.timeout = timeout;
        self
    }

    /// The Lua script the store runs (SPEC.md §8.1), e.g. to load it ahead.
    pub fn script() -> &'static str {
        SCRIPT
    }

    /// The key of a (kid, nonce) pair.
    pub fn pair_key(&self, kid: &str, nonce: &str) -> String {
        format!("{}n:{kid}:{nonce}", self.prefix)
    }

    /// The watermark's key.
    pub fn watermark_key(&self) -> String {
        format!("{}watermark", self.prefix)
    }

    fn connection(&self) -> redis::RedisResult<redis::Connection> {
        if let Some(con) = self.lock().pop() {
            return Ok(con);
        }
        let con = self.client.get_connection_with_timeout(self.timeout)?;
        con.set_read_timeout(Some(self.timeout))?;
        con.set_write_timeout(Some(self.timeout))?;
        Ok(con)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<redis::Connection>> {
        // A pool of idle connections cannot be left inconsistent by a panic.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn run(&self, record: &NonceRecord<'_>) -> redis::RedisResult<(i64, i64)> {
        let mut con = self.connection()?;
        let reply = self
            .script
            .key(self.pair_key(record.kid, record.nonce))
            .key(self.watermark_key())
            .arg(record.ts)
            .arg(self.retention_ms)
            .invoke(&mut con)?;
        // Only a connection that answered goes back to the pool.
        self.lock().push(con);
        Ok(reply)
    }
}

impl NonceStore for RedisNonceStore {
    /// Checks and records `record` on the server. `now_ms` is not used:
    /// forgetting and the watermark run on the server's clock (SPEC.md §8.1).
    fn remember(&self, record: &NonceRecord<'_>, _now_ms: u64) -> Result<()> {
        let needed = record.remember_until.saturating_sub(record.ts);
        if needed > self.retention_ms {
            return Err(Error::new(
                ErrorCode::Misconfigured,
                format!(
                    "the replay store keeps records {} ms, less than this verifier's window needs \
                     ({needed} ms): give the store a retention of at least the largest max_age",
                    self.retention_ms
                ),
            ));
        }
        let (status, watermark) = self.run(record).map_err(|e| {
            let text: String = e.to_string().chars().take(64).collect();
            Error::new(
                ErrorCode::Unavailable,
                format!("the replay store (Redis) failed, so the call was not accepted: {text}"),
            )
        })?;
        let NonceRecord { kid, nonce, ts, .. } = *record;
        match status {
            2 => Ok(()),
            1 => Err(Error::new(
                ErrorCode::Replayed,
                format!("nonce {nonce} of key {kid:?} was already accepted"),
            )),
            0 => Err(Error::new(
                ErrorCode::Replayed,
                format!(
                    "nonce {nonce} of key {kid:?} may already have been accepted: it was signed at \
                     {ts}, at or before the store's watermark {watermark} (records signed that early \
                     have expired)"
                ),
            )),
            other => Err(Error::new(
                ErrorCode::Unavailable,
                format!("the replay store's script answered {other}, not 0, 1 or 2"),
            )),
        }
    }
}

impl std::fmt::Debug for RedisNonceStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client's connection info may hold a password: not shown.
        f.debug_struct("RedisNonceStore")
            .field("prefix", &self.prefix)
            .field("retention_ms", &self.retention_ms)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}
