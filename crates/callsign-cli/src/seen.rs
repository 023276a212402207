//! `verify --seen FILE`: a replay store kept in a file between runs.
//!
//! The file is a [`MemoryNonceStore`]'s snapshot as JSON lines: a first line
//! `{"watermark_ts":1700000000000,"retention_ms":60000}` (`watermark_ts` is
//! `null` until a record has been forgotten), then one line per remembered
//! pair, `{"kid":"…","nonce":"…","ts":1700000000000,"remember_until":1700000060000}`.
//! A missing file is an empty store. It is loaded whole, used as the store of
//! one verification, and written back atomically (temporary file + rename)
//! with expired pairs forgotten. The rules are the library's (SPEC.md §8); two
//! runs at the same time can each accept the same call (the last writer
//! wins), so this is for scripts and tests, not for concurrent use.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use callsign::{MemoryNonceStore, StoreSnapshot, StoredNonce};
use serde::{Deserialize, Serialize};

use crate::error::{CliError, Result, IO};

/// The first line: the store's watermark and retention.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    watermark_ts: Option<u64>,
    retention_ms: u64,
}

/// One remembered (kid, nonce) pair: every other line.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    kid: String,
    nonce: String,
    ts: u64,
    remember_until: u64,
}

/// A line of the file.
#[derive(Deserialize)]
#[serde(untagged)]
enum Line {
    Header(Header),
    Entry(Entry),
}

/// The replay store of `path`, loaded into a [`MemoryNonceStore`].
pub struct SeenFile {
    path: PathBuf,
    store: MemoryNonceStore,
}

impl SeenFile {
    /// Loads `path`; a missing file is an empty store.
    pub fn load(path: &Path) -> Result<SeenFile> {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(CliError::io(format!("reading {}", path.display()), e)),
        };
        let mut snapshot = StoreSnapshot::default();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let line: Line = serde_json::from_str(line).map_err(|_| {
                CliError::new(
                    IO,
                    format!(
                        "{} line {} is not a {{\"watermark_ts\",\"retention_ms\"}} or \
                         {{\"kid\",\"nonce\",\"ts\",\"remember_until\"}} record",
                        path.display(),
                        n + 1
                    ),
                )
            })?;
            match line {
                Line::Header(h) => {
                    snapshot.watermark_ts = h.watermark_ts.max(snapshot.watermark_ts);
                    snapshot.retention_ms = h.retention_ms.max(snapshot.retention_ms);
                }
                Line::Entry(e) => snapshot.records.push(StoredNonce {
                    kid: e.kid,
                    nonce: e.nonce,
                    ts: e.ts,
                    remember_until: e.remember_until,
                }),
            }
        }
        Ok(SeenFile {
            path: path.to_owned(),
            store: MemoryNonceStore::from_snapshot(snapshot),
        })
    }

    /// The store to verify with.
    pub fn store(&self) -> &MemoryNonceStore {
        &self.store
    }

    /// Writes the store back to the file after forgetting what has expired at
    /// `now_ms`, atomically: readers see the old file or the new one, never a
    /// torn one.
    pub fn save(&self, now_ms: u64) -> Result<()> {
        self.store.forget_expired(now_ms);
        let snapshot = self.store.snapshot();
        let header = Header {
            watermark_ts: snapshot.watermark_ts,
            retention_ms: snapshot.retention_ms,
        };
        // Strings and integers always serialize.
        let mut text = serde_json::to_string(&header).expect("a Header serializes");
        text.push('\n');
        for r in snapshot.records {
            let entry = Entry {
                kid: r.kid,
                nonce: r.nonce,
                ts: r.ts,
                remember_until: r.remember_until,
            };
            text.push_str(&serde_json::to_string(&entry).expect("an Entry serializes"));
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
}
