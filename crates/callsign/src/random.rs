//! The one source of randomness: the operating system's CSPRNG, through `getrandom`.
//!
//! Everything that draws random bytes (`Key::generate`, `Nonce::generate`
//! and so `OsNonces`) draws them here, and only when called: nothing reads
//! randomness up front. On `wasm32` this exists only with the `getrandom`
//! feature, and the bytes come from the backend the final module gives
//! getrandom (`crypto.getRandomValues` in the npm package's).

#![cfg(any(not(target_arch = "wasm32"), feature = "getrandom"))]

use crate::error::{Error, ErrorCode, Result};

/// Fills `buf` with random bytes.
///
/// # Errors
/// [`ErrorCode::Unsupported`] when the platform has no randomness to give.
pub(crate) fn fill(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::new(ErrorCode::Unsupported, unavailable(e)))
}

#[cfg(not(target_arch = "wasm32"))]
fn unavailable(e: getrandom::Error) -> String {
    format!("no OS randomness: {e}")
}

#[cfg(target_arch = "wasm32")]
fn unavailable(e: getrandom::Error) -> String {
    format!("no randomness available (crypto.getRandomValues): {e}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn fills_the_whole_buffer_with_fresh_bytes() {
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        super::fill(&mut a).unwrap();
        super::fill(&mut b).unwrap();
        // 2^-256 chance of a false failure each.
        assert_ne!(a, [0u8; 32]);
        assert_ne!(a, b);
    }
}
