//! `verify --seen FILE`: a replay store kept in a file between runs.
//!
//! The file holds one JSON object per line,
//! `{"kid":"…","nonce":"…","remember_until":1700000060000}`; a missing file is
//! an empty store. It is loaded whole, consulted and updated in memory, and
//! written back atomically (temporary file + rename) with expired pairs
//! dropped. Two runs at the same time can each accept the same call (the last
//! writer wins), so this is for scripts and tests, not for concurrent use.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use callsign::{ErrorCode, NonceStore};
use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result, IO};

/// One remembered (kid, nonce) pair: a line of the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    kid: String,
    nonce: String,
    remember_until: u64,
}

/// A [`NonceStore`] loaded from, and saved to, a JSON-lines file.
///
/// Not `MemoryNonceStore`: that one cannot list its entries, which saving needs.
pub struct SeenFile {
    path: PathBuf,
    /// (kid, nonce) → remember until (ms). `NonceStore` takes `&self` and
    /// requires `Sync`, hence the mutex.
    pairs: Mutex<HashMap<(String, String), u64>>,
}

impl SeenFile {
    /// Loads `path` (missing = empty), skipping pairs already expired at `now_ms`.
    pub fn load(path: &Path, now_ms: u64) -> Result<SeenFile> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(CliError::io(format!("reading {}", path.display()), e)),
        };
        let mut pairs = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Entry = serde_json::from_str(line).map_err(|e| {
                CliError::new(
                    IO,
                    format!(
                        "{} line {} is not a {{\"kid\",\"nonce\",\"remember_until\"}} record: {e}",
                        path.display(),
                        n + 1
                    ),
                )
            })?;
            if entry.remember_until >= now_ms {
                let until = pairs.entry((entry.kid, entry.nonce)).or_insert(0);
                *until = entry.remember_until.max(*until);
            }
        }
        Ok(SeenFile {
            path: path.to_owned(),
            pairs: Mutex::new(pairs),
        })
    }

    /// Writes the pairs still to be remembered at `now_ms` back to the file,
    /// atomically: readers see the old file or the new one, never a torn one.
    pub fn save(&self, now_ms: u64) -> Result<()> {
        let mut entries: Vec<Entry> = self
            .lock()
            .iter()
            .filter(|(_, &until)| until >= now_ms)
            .map(|((kid, nonce), &until)| Entry {
                kid: kid.clone(),
                nonce: nonce.clone(),
                remember_until: until,
            })
            .collect();
        // A stable order keeps the file diffable.
        entries.sort_by(|a, b| {
            (a.remember_until, &a.kid, &a.nonce).cmp(&(b.remember_until, &b.kid, &b.nonce))
        });
        let mut text = String::new();
        for entry in &entries {
            // Strings and integers always serialize.
            text.push_str(&serde_json::to_string(entry).expect("an Entry serializes"));
            text.push('\n');
        }

        // The temporary file sits next to the target so the rename stays on
        // one file system (and is therefore atomic).
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        let tmp = self
            .path
            .with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let written = fs::File::create(&tmp)
            .and_then(|mut file| {
                file.write_all(text.as_bytes())?;
                file.sync_all()
            })
            .and_then(|()| fs::rename(&tmp, &self.path));
        written.map_err(|e| {
            // Best effort: the temporary file may not even exist.
            let _ = fs::remove_file(&tmp);
            CliError::io(format!("writing {}", self.path.display()), e)
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), u64>> {
        // Every update is a single insert, so a poisoned map is still consistent.
        self.pairs.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl NonceStore for SeenFile {
    fn remember(
        &self,
        kid: &str,
        nonce: &str,
        remember_until_ms: u64,
        now_ms: u64,
    ) -> callsign::Result<()> {
        let mut pairs = self.lock();
        let key = (kid.to_owned(), nonce.to_owned());
        // Same rule as `MemoryNonceStore`: a pair is remembered through its
        // `remember_until` inclusive.
        match pairs.get(&key) {
            Some(&until) if until >= now_ms => Err(callsign::Error::new(
                ErrorCode::Replayed,
                format!(
                    "nonce {nonce} of key {kid:?} was already accepted (recorded in {}); \
                     it is remembered until {until}",
                    self.path.display()
                ),
            )),
            _ => {
                pairs.insert(key, remember_until_ms);
                Ok(())
            }
        }
    }
}
