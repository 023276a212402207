//! `verify --seen FILE`: a replay store kept in a file between runs.
//!
//! The file holds one JSON object per line,
//! `{"kid":"…","nonce":"…","remember_until":1700000060000}`; a missing file is
//! an empty store. It is loaded whole, consulted and updated in memory, and
//! written back atomically (temporary file + rename) with expired pairs
//! dropped. Once pairs have been dropped, a first line
//! `{"dropped_through":1700000060000}` records the latest `remember_until`
//! among them: a run with an earlier `--now` must refuse any pair that may
//! have been dropped (SPEC.md §8). Two runs at the same time can each accept
//! the same call (the last writer wins), so this is for scripts and tests, not
//! for concurrent use.

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

/// The line that records how far dropped pairs reach.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Dropped {
    dropped_through: u64,
}

/// A line of the file.
#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Entry(Entry),
    Dropped(Dropped),
}

/// A [`NonceStore`] loaded from, and saved to, a JSON-lines file.
///
/// Not `MemoryNonceStore`: that one cannot list its entries, which saving needs.
pub struct SeenFile {
    path: PathBuf,
    /// `NonceStore` takes `&self` and requires `Sync`, hence the mutex.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// (kid, nonce) → remember until (ms).
    pairs: HashMap<(String, String), u64>,
    /// The latest `remember_until` among dropped pairs.
    dropped_through: Option<u64>,
}

impl State {
    fn drop_through(&mut self, until: u64) {
        self.dropped_through = Some(self.dropped_through.map_or(until, |d| d.max(until)));
    }
}

impl SeenFile {
    /// Loads `path` (missing = empty), skipping pairs already expired at `now_ms`.
    pub fn load(path: &Path, now_ms: u64) -> Result<SeenFile> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(CliError::io(format!("reading {}", path.display()), e)),
        };
        let mut state = State::default();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let line: Line = serde_json::from_str(line).map_err(|_| {
                CliError::new(
                    IO,
                    format!(
                        "{} line {} is not a {{\"kid\",\"nonce\",\"remember_until\"}} or \
                         {{\"dropped_through\"}} record",
                        path.display(),
                        n + 1
                    ),
                )
            })?;
            match line {
                Line::Dropped(d) => state.drop_through(d.dropped_through),
                Line::Entry(entry) if entry.remember_until < now_ms => {
                    state.drop_through(entry.remember_until)
                }
                Line::Entry(entry) => {
                    let until = state.pairs.entry((entry.kid, entry.nonce)).or_insert(0);
                    *until = entry.remember_until.max(*until);
                }
            }
        }
        Ok(SeenFile {
            path: path.to_owned(),
            state: Mutex::new(state),
        })
    }

    /// Writes the pairs still to be remembered at `now_ms` back to the file,
    /// atomically: readers see the old file or the new one, never a torn one.
    pub fn save(&self, now_ms: u64) -> Result<()> {
        let mut state = self.lock();
        let expired: Vec<u64> = state
            .pairs
            .values()
            .copied()
            .filter(|&until| until < now_ms)
            .collect();
        for until in expired {
            state.drop_through(until);
        }
        let mut entries: Vec<Entry> = state
            .pairs
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
        if let Some(dropped_through) = state.dropped_through {
            let line = Dropped { dropped_through };
            text.push_str(&serde_json::to_string(&line).expect("a Dropped serializes"));
            text.push('\n');
        }
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

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Every update is a single insert, so a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
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
        let mut state = self.lock();
        // Same rules as `MemoryNonceStore`: a pair that may have been dropped
        // is refused, and a pair is remembered through its `remember_until`
        // inclusive.
        if let Some(dropped) = state.dropped_through.filter(|&d| remember_until_ms <= d) {
            return Err(callsign::Error::new(
                ErrorCode::Replayed,
                format!(
                    "nonce {nonce} of key {kid:?} may already have been accepted: {} has dropped \
                     records ending as late as {dropped}, and this one would end at \
                     {remember_until_ms} (an earlier --now than a previous run's)",
                    self.path.display()
                ),
            ));
        }
        let key = (kid.to_owned(), nonce.to_owned());
        match state.pairs.get(&key) {
            Some(&until) if until >= now_ms => Err(callsign::Error::new(
                ErrorCode::Replayed,
                format!(
                    "nonce {nonce} of key {kid:?} was already accepted (recorded in {}); \
                     it is remembered until {until}",
                    self.path.display()
                ),
            )),
            _ => {
                state.pairs.insert(key, remember_until_ms);
                Ok(())
            }
        }
    }
}
