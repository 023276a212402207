//! Nonces: the single-use random value of each call (SPEC.md §3.5).

use std::fmt;

use crate::error::Result;
use crate::spec::validate_nonce;

/// A call's single-use random value: 32 to 64 lowercase hex digits (128 to
/// 256 bits). The verifier accepts each (key id, nonce) pair once.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Nonce(String);

impl Nonce {
    /// Builds a nonce from 16 random bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Nonce {
        Nonce(hex::encode(bytes))
    }

    /// Draws a 128-bit nonce from the OS's CSPRNG (on `wasm32`, with the
    /// `getrandom` feature, from getrandom's backend).
    #[cfg(any(not(target_arch = "wasm32"), feature = "getrandom"))]
    pub fn generate() -> Result<Nonce> {
        let mut bytes = [0u8; 16];
        crate::random::fill(&mut bytes)?;
        Ok(Nonce::from_bytes(bytes))
    }

    /// Parses a nonce string.
    pub fn parse(text: &str) -> Result<Nonce> {
        validate_nonce(text)?;
        Ok(Nonce(text.to_owned()))
    }

    /// The nonce as it travels and is MACed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nonce({})", self.0)
    }
}

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
