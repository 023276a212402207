//! Key material from flags or the environment, and keeping it out of every message.
//!
//! The argument structs deliberately do not derive `Debug`: they hold key
//! strings.

use callsign::{ErrorCode, Key, KeySet};

use crate::error::{CliError, Result};

/// Environment variable holding the key for `sign` and `derive`.
pub const KEY_ENV: &str = "CALLSIGN_KEY";
/// Environment variable holding the key set for `verify`.
pub const KEYS_ENV: &str = "CALLSIGN_KEYS";

/// `--key` / `CALLSIGN_KEY`.
#[derive(clap::Args)]
pub struct KeyArg {
    /// Key string: root `csk1_…`, or derived `csk1d_…@AUD`
    ///
    /// Prefer the environment variable: command-line arguments are visible
    /// to other users of the machine (ps, /proc). The key is never printed,
    /// not even in error messages.
    ///
    /// Example: --key "$(cat prod.key)"
    #[arg(long, value_name = "KEY", env = KEY_ENV, hide_env_values = true)]
    key: Option<String>,
}

impl KeyArg {
    /// Parses the key, failing with `invalid_key` if it is missing or bad.
    pub fn load(&self) -> Result<Key> {
        let text = present(&self.key)
            .ok_or_else(|| missing(format!("no key: pass --key or set {KEY_ENV}")))?;
        Ok(Key::parse(text)?)
    }
}

/// `--keys` / `CALLSIGN_KEYS`.
#[derive(clap::Args)]
pub struct KeysArg {
    /// Key set: key strings separated by commas or whitespace
    ///
    /// The verifier picks the key named by the call's key id; list the old
    /// and the new key while rotating. Prefer the environment variable:
    /// command-line arguments are visible to other users of the machine.
    ///
    /// Example: --keys "$OLD_KEY,$NEW_KEY"
    #[arg(long, value_name = "KEYS", env = KEYS_ENV, hide_env_values = true)]
    keys: Option<String>,
}

impl KeysArg {
    /// Parses the key set, failing with `invalid_key` if it is missing or bad.
    pub fn load(&self) -> Result<KeySet> {
        let text = present(&self.keys)
            .ok_or_else(|| missing(format!("no keys: pass --keys or set {KEYS_ENV}")))?;
        Ok(KeySet::parse(text)?)
    }
}

/// An empty variable (`CALLSIGN_KEY=`) counts as unset: that is what a
/// script with a forgotten export produces.
fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|v| !v.trim().is_empty())
}

fn missing(message: String) -> CliError {
    CliError::call(ErrorCode::InvalidKey, message)
}

/// Everything this process was given that may be key material: every
/// argument (a key passed without `--key` is one, and so is a mangled key) and
/// the key variables. Every message the CLI prints is redacted against these.
pub fn key_texts() -> Vec<String> {
    std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .chain(
            [KEY_ENV, KEYS_ENV]
                .into_iter()
                .filter_map(|v| std::env::var(v).ok()),
        )
        .collect()
}

/// Shortest run of hex digits that may be key material: secrets have at
/// least 64 digits, and 16 still catches a fragment while leaving
/// timestamps (13 digits) alone.
const MIN_SECRET_RUN: usize = 16;

/// Replaces every run of hex digits in `text` that shares at least
/// [`MIN_SECRET_RUN`] consecutive digits with one of `key_texts` by `<redacted>`.
pub fn redact(text: &str, key_texts: &[&str]) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let (mut copied, mut i) = (0, 0);
    while i < bytes.len() {
        if !bytes[i].is_ascii_hexdigit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
            i += 1;
        }
        if shares_secret_run(&bytes[start..i], key_texts) {
            // Hex digits are ASCII, so `start` and `i` are char boundaries.
            out.push_str(&text[copied..start]);
            out.push_str("<redacted>");
            copied = i;
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn shares_secret_run(run: &[u8], key_texts: &[&str]) -> bool {
    run.windows(MIN_SECRET_RUN).any(|window| {
        key_texts
            .iter()
            .any(|key| key.as_bytes().windows(MIN_SECRET_RUN).any(|k| k == window))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_runs_that_overlap_a_key_and_nothing_else() {
        let secret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeef";
        let key = format!("csk1_{secret}_");
        let message = format!("key \"{secret}\": the secret has 0 bits; at 1700000000000");
        assert_eq!(
            redact(&message, &[&key]),
            "key \"<redacted>\": the secret has 0 bits; at 1700000000000"
        );
        // A fragment is caught too; unrelated hex (a nonce) is kept.
        let nonce = "ffeeddccbbaa99887766554433221100";
        let message = format!("{} and {nonce}", &secret[10..30]);
        assert_eq!(redact(&message, &[&key]), format!("<redacted> and {nonce}"));
        assert_eq!(redact("héllo ü", &[&key]), "héllo ü");
    }
}
