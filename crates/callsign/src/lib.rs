//! Signed server-to-server calls into Convex.
//!
//! A server that holds a key signs a call — function name, args, audience
//! (the target deployment), timestamp and nonce — with HMAC-SHA256, and puts
//! the signature in one reserved args field. The Convex function verifies it
//! with the same crate compiled to WASM: right key, right function, right
//! args, right deployment, inside the time window, and never twice. The
//! secret never travels.
//!
//! The wire format is specified in `SPEC.md`; this crate is its reference
//! implementation.
//!
//! ```
//! use callsign::{Key, KeySet, MemoryNonceStore, Signer, Verifier, ErrorCode};
//!
//! let audience = "https://happy-otter-123.convex.cloud";
//! let key = Key::generate("prod")?;
//!
//! // On the calling server:
//! let call = Signer::new(&key, audience)?.sign("messages:send", r#"{"body":"hello"}"#)?;
//!
//! // In the Convex function (here natively, with an in-memory replay store):
//! let verifier = Verifier::new(&KeySet::from(key), audience)?;
//! let store = MemoryNonceStore::new();
//! let now = call.envelope.ts + 20;
//! let ok = verifier.verify_once(&store, "messages:send", &call.signed_args, now)?;
//! assert_eq!(ok.canonical_args, r#"{"body":"hello"}"#);
//!
//! let again = verifier.verify_once(&store, "messages:send", &call.signed_args, now);
//! assert_eq!(again.unwrap_err().code(), ErrorCode::Replayed);
//! # Ok::<(), callsign::Error>(())
//! ```
//!
//! Randomness is drawn only when a call asks for it, never up front:
//! [`Key::generate`] and [`Nonce::generate`] (natively also a [`Signer`]'s
//! default nonce source) draw from the operating system's CSPRNG through
//! `getrandom`. On `wasm32` they exist with the `getrandom` feature and draw
//! from the backend the final module gives getrandom: the npm package's
//! module (`crates/callsign-wasm`) makes its new keys and nonces this way,
//! from `crypto.getRandomValues`. No clock is read on `wasm32`: verification
//! always takes `now` as an argument, and signing there needs an injected
//! [`Clock`] and [`NonceSource`] (or [`Signer::sign_at`]).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

// The modules, bottom layer first; each uses only modules above it in this
// list (tests aside):
//
//   error      Error, ErrorCode: the stable codes (SPEC.md §9)
//   random     the one source of randomness (getrandom)
//   canonical  canonical args (SPEC.md §2): mod.rs the API and limits,
//              parser.rs, numbers.rs, strings.rs
//   spec       public: the protocol's constants and per-field rules (§3, §5, §6)
//   key        Key, KeySet, derivation (§6)
//   nonce      Nonce (§3.5)
//   envelope   Envelope (§5)
//   replay     NonceStore, MemoryNonceStore (§8); RedisNonceStore and its
//              script with the `redis` feature (§8.1)
//   sign       Signer (§5.1)
//   verify     Verifier (§7)
//   http       public: signed HTTP requests, the HTTP profile (§11):
//              mod.rs RequestSigner / RequestVerifier, profile.rs its wire rules
//
// The WebAssembly face that the npm package wraps is its own crate,
// crates/callsign-wasm.
mod canonical;
mod envelope;
mod error;
pub mod http;
mod key;
mod nonce;
mod random;
mod replay;
mod sign;
pub mod spec;
mod verify;

pub use canonical::{canonicalize, Limits};
pub use envelope::Envelope;
pub use error::{Error, ErrorCode, Result};
pub use key::{Key, KeySet};
pub use nonce::Nonce;
#[cfg(all(feature = "redis", not(target_arch = "wasm32")))]
pub use replay::RedisNonceStore;
pub use replay::{MemoryNonceStore, NonceRecord, NonceStore, StoreSnapshot, StoredNonce};
pub use sign::{Clock, NonceSource, SignedCall, Signer};
#[cfg(not(target_arch = "wasm32"))]
pub use sign::{OsNonces, SystemClock};
pub use verify::{Verified, Verifier, Window};
