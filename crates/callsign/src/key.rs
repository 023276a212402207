//! Keys, key sets and per-audience key derivation.
//!
//! A key string pastes into an environment variable and says what it is:
//!
//! * root key: `csk1_<kid>_<secret hex>` (32 to 64 secret bytes);
//! * derived key: `csk1d_<kid>_<64 secret hex>@<audience>`, produced from a
//!   root key by [`Key::derive`] and usable only for that audience.
//!
//! Every MAC is computed with an audience-scoped key: a root key is first
//! derived for the audience it signs or verifies for. A deployment that holds
//! only its derived key therefore cannot produce keys, or signatures, for any
//! other deployment (SPEC.md §6).

use std::fmt;
use std::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{quoted, Error, Result};
use crate::spec::{
    holds_key_prefix, is_lower_hex, validate_audience, DERIVED_PREFIX, MAX_KID_LEN,
    MAX_SECRET_BYTES, MIN_SECRET_BYTES, ROOT_PREFIX,
};

pub(crate) type HmacSha256 = Hmac<Sha256>;

const DERIVE_LABEL: &[u8] = b"callsign/v1/derive\n";

/// A signing or verification key: a key id plus a secret, either a root key
/// or a key derived for one audience.
///
/// The secret is zeroized on drop and never appears in `Debug` or `Display`;
/// only [`Key::to_key_string`] reveals it. Nor does a derived key's audience:
/// a mangled key string can put secret digits there, so `Debug`, `Display`
/// and every error name it by its length and fingerprint (SPEC.md §6.5).
///
/// ```
/// use callsign::Key;
///
/// let root: Key = "csk1_prod_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f".parse()?;
/// let derived = root.derive("https://happy-otter-123.convex.cloud")?;
/// assert_eq!(derived.kid(), "prod");
/// assert_eq!(derived.audience(), Some("https://happy-otter-123.convex.cloud"));
/// assert_eq!(derived.to_string(), "csk1d_prod_<redacted>@<36-byte audience b0a55697>");
/// assert!(!format!("{derived:?}").contains("0a0b"));
/// # Ok::<(), callsign::Error>(())
/// ```
#[derive(Clone)]
pub struct Key {
    kid: String,
    secret: Zeroizing<Vec<u8>>,
    audience: Option<String>,
}

impl Key {
    /// Builds a root key from a key id and secret bytes (32 to 64 bytes).
    ///
    /// Use this where the secret comes from outside; [`Key::generate`] draws
    /// one itself.
    pub fn from_secret(kid: &str, secret: &[u8]) -> Result<Key> {
        validate_kid(kid)?;
        check_secret_len(secret.len(), MAX_SECRET_BYTES)?;
        Ok(Key {
            kid: kid.to_owned(),
            secret: Zeroizing::new(secret.to_vec()),
            audience: None,
        })
    }

    /// Generates a new root key with a 256-bit secret from the OS's CSPRNG
    /// (on `wasm32`, with the `getrandom` feature, from getrandom's backend).
    #[cfg(any(not(target_arch = "wasm32"), feature = "getrandom"))]
    pub fn generate(kid: &str) -> Result<Key> {
        let mut secret = Zeroizing::new([0u8; MIN_SECRET_BYTES]);
        crate::random::fill(secret.as_mut())?;
        Key::from_secret(kid, secret.as_ref())
    }

    /// Parses a root or derived key string.
    ///
    /// A string holding a second key prefix (`csk1_` or `csk1d_`) is refused:
    /// that is two keys run together, e.g. a key set missing a comma.
    pub fn parse(text: &str) -> Result<Key> {
        let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
        let after_prefix = text
            .strip_prefix(DERIVED_PREFIX)
            .or_else(|| text.strip_prefix(ROOT_PREFIX));
        if let Some(rest) = after_prefix.filter(|rest| holds_key_prefix(rest)) {
            return Err(Error::invalid_key(
                if rest.contains(|c: char| c == ',' || c.is_ascii_whitespace()) {
                    "this is several keys (a key set?) where one key string goes"
                } else {
                    "the key string holds a second key prefix (csk1_ or csk1d_): \
                     two keys run together? separate them with a comma"
                },
            ));
        }
        if let Some(rest) = text.strip_prefix(DERIVED_PREFIX) {
            let (kid, rest) = split_kid(rest)?;
            let (hex_part, audience) = rest.split_once('@').ok_or_else(|| {
                Error::invalid_key("a derived key ends with '@<audience>'; this one has none")
            })?;
            let secret = decode_secret(hex_part, MIN_SECRET_BYTES)?;
            validate_audience(audience).map_err(|_| {
                Error::invalid_key(
                    "the audience of a derived key must be 1 to 512 printable ASCII characters, \
                     without spaces or commas (SPEC.md §3.2)",
                )
            })?;
            Ok(Key {
                kid: kid.to_owned(),
                secret,
                audience: Some(audience.to_owned()),
            })
        } else if let Some(rest) = text.strip_prefix(ROOT_PREFIX) {
            let (kid, hex_part) = split_kid(rest)?;
            let secret = decode_secret(hex_part, MAX_SECRET_BYTES)?;
            Ok(Key {
                kid: kid.to_owned(),
                secret,
                audience: None,
            })
        } else {
            Err(Error::invalid_key(format!(
                "a key starts with {ROOT_PREFIX:?} (root) or {DERIVED_PREFIX:?} (derived)"
            )))
        }
    }

    /// The key id, sent in clear with every call so the verifier can pick the key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The audience a derived key is bound to; `None` for a root key.
    ///
    /// For the program's own use: to show which audience a key is bound to,
    /// print [`Key::audience_fingerprint`] instead (SPEC.md §6.5).
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// The fingerprint of the audience a derived key is bound to (the first 8
    /// hex digits of its SHA-256, SPEC.md §6.5); `None` for a root key.
    /// `printf %s "$URL" | sha256sum | cut -c1-8` gives it for a URL.
    pub fn audience_fingerprint(&self) -> Option<String> {
        self.audience.as_deref().map(audience_fingerprint)
    }

    /// True for a root key (one that can derive keys for any audience).
    pub fn is_root(&self) -> bool {
        self.audience.is_none()
    }

    /// Derives the key for one audience from a root key (SPEC.md §6).
    ///
    /// The derived key keeps the key id. Give a deployment its derived key:
    /// if it leaks, it cannot sign for any other audience.
    pub fn derive(&self, audience: &str) -> Result<Key> {
        if let Some(bound) = &self.audience {
            return Err(Error::invalid_key(format!(
                "key {:?} is already derived (for the {}); derive from the root key",
                self.kid,
                AudienceName(bound)
            )));
        }
        validate_audience(audience)?;
        Ok(Key {
            kid: self.kid.clone(),
            secret: derive_secret(&self.secret, audience),
            audience: Some(audience.to_owned()),
        })
    }

    /// The full key string, secret included. Handle with care.
    pub fn to_key_string(&self) -> Zeroizing<String> {
        // Built in one buffer of the exact final size: a growing String would
        // reallocate and free copies of the secret without wiping them.
        let (prefix, audience) = match &self.audience {
            None => (ROOT_PREFIX, None),
            Some(aud) => (DERIVED_PREFIX, Some(aud.as_str())),
        };
        let hex_len = 2 * self.secret.len();
        let len =
            prefix.len() + self.kid.len() + 1 + hex_len + audience.map_or(0, |aud| 1 + aud.len());
        let mut out = Zeroizing::new(String::with_capacity(len));
        out.push_str(prefix);
        out.push_str(&self.kid);
        out.push('_');
        // Digit by digit, straight into `out`: no intermediate copy of the
        // secret to wipe.
        const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
        for &b in self.secret.iter() {
            out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
            out.push(char::from(HEX_DIGITS[usize::from(b & 0x0f)]));
        }
        if let Some(aud) = audience {
            out.push('@');
            out.push_str(aud);
        }
        debug_assert_eq!(out.len(), len, "no reallocation");
        out
    }

    /// The HMAC keyed for `audience`: derived on the fly from a root key, or
    /// the derived key itself when it is bound to exactly that audience.
    pub(crate) fn mac_for(&self, audience: &str) -> Result<MacKey> {
        let secret = match &self.audience {
            None => derive_secret(&self.secret, audience),
            Some(bound) if bound == audience => self.secret.clone(),
            Some(bound) => {
                return Err(Error::invalid_key(format!(
                "key {:?} is derived for another audience (the {}), not for {} (fingerprint {})",
                self.kid,
                AudienceName(bound),
                quoted(audience),
                audience_fingerprint(audience)
            )))
            }
        };
        Ok(MacKey {
            mac: keyed_hmac(&secret),
        })
    }
}

impl FromStr for Key {
    type Err = Error;
    fn from_str(s: &str) -> Result<Key> {
        Key::parse(s)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("audience", &self.audience.as_deref().map(AudienceName))
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.audience {
            None => write!(f, "{ROOT_PREFIX}{}_<redacted>", self.kid),
            Some(aud) => write!(
                f,
                "{DERIVED_PREFIX}{}_<redacted>@{}",
                self.kid,
                AudienceName(aud)
            ),
        }
    }
}

/// Shows a bound audience as `<36-byte audience b0a55697>`: its length and
/// fingerprint, never its text (SPEC.md §6.5).
struct AudienceName<'a>(&'a str);

impl fmt::Display for AudienceName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<{}-byte audience {}>",
            self.0.len(),
            audience_fingerprint(self.0)
        )
    }
}

impl fmt::Debug for AudienceName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The first 8 lowercase hex digits of SHA-256 of `audience` (SPEC.md §6.5).
pub(crate) fn audience_fingerprint(audience: &str) -> String {
    hex::encode(&Sha256::digest(audience.as_bytes())[..4])
}

/// The keys a verifier accepts, by key id (for rotation: old and new side by side).
///
/// Parsed from key strings separated by commas and/or whitespace, e.g. the
/// value of `CALLSIGN_KEYS`. Key ids must be unique: the verifier selects a
/// key by the call's key id and never tries keys in turn.
#[derive(Clone, Debug)]
pub struct KeySet {
    keys: Vec<Key>,
}

impl KeySet {
    /// Builds a set from keys; fails on an empty set or a repeated key id.
    pub fn new(keys: Vec<Key>) -> Result<KeySet> {
        if keys.is_empty() {
            return Err(Error::invalid_key("the key set is empty"));
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.kid == key.kid) {
                return Err(Error::invalid_key(format!(
                    "key id {:?} appears twice in the key set",
                    key.kid
                )));
            }
        }
        Ok(KeySet { keys })
    }

    /// Parses key strings separated by commas and/or whitespace.
    pub fn parse(text: &str) -> Result<KeySet> {
        let keys = text
            .split(|c: char| c == ',' || c.is_ascii_whitespace())
            .filter(|part| !part.is_empty())
            .enumerate()
            .map(|(i, part)| {
                Key::parse(part).map_err(|e| {
                    Error::invalid_key(format!("key #{} in the key set: {}", i + 1, e.message()))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        KeySet::new(keys)
    }

    /// The keys, in the order given.
    pub fn keys(&self) -> &[Key] {
        &self.keys
    }

    /// The key with this id, if any.
    pub fn get(&self, kid: &str) -> Option<&Key> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// One MAC per key id, each keyed for `audience`, in the set's order.
    pub(crate) fn macs_for(&self, audience: &str) -> Result<Vec<(String, MacKey)>> {
        self.keys
            .iter()
            .map(|k| Ok((k.kid.clone(), k.mac_for(audience)?)))
            .collect()
    }
}

impl FromStr for KeySet {
    type Err = Error;
    fn from_str(s: &str) -> Result<KeySet> {
        KeySet::parse(s)
    }
}

impl From<Key> for KeySet {
    fn from(key: Key) -> KeySet {
        KeySet { keys: vec![key] }
    }
}

/// An HMAC-SHA256 instance already keyed (its inner and outer pads are
/// computed once); cloned per message. Zeroized on drop by `hmac`.
#[derive(Clone)]
pub(crate) struct MacKey {
    mac: HmacSha256,
}

impl MacKey {
    pub(crate) fn keyed(&self) -> HmacSha256 {
        self.mac.clone()
    }
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacKey(<redacted>)")
    }
}

/// HMAC-SHA256 keyed with `secret`.
fn keyed_hmac(secret: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        // Matched rather than `expect`ed: the error's `Debug` would be linked
        // into the wasm module for a panic that cannot happen.
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

fn derive_secret(root: &[u8], audience: &str) -> Zeroizing<Vec<u8>> {
    let mut mac = keyed_hmac(root);
    mac.update(DERIVE_LABEL);
    mac.update(audience.as_bytes());
    Zeroizing::new(mac.finalize().into_bytes().to_vec())
}

/// Checks a key id: 1 to 64 characters from `A-Z a-z 0-9 . -`.
pub(crate) fn validate_kid(kid: &str) -> Result<()> {
    if kid.is_empty() || kid.len() > MAX_KID_LEN {
        return Err(Error::invalid_key(format!(
            "a key id has 1 to {MAX_KID_LEN} characters, got {}",
            kid.len()
        )));
    }
    if let Some(c) = kid
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.'))
    {
        return Err(Error::invalid_key(format!(
            "key id {kid:?} contains {c:?}; allowed are A-Z a-z 0-9 '.' '-'"
        )));
    }
    Ok(())
}

fn split_kid(rest: &str) -> Result<(&str, &str)> {
    let (kid, secret) = rest
        .split_once('_')
        .ok_or_else(|| Error::invalid_key("a key has the form <prefix><kid>_<secret hex>"))?;
    validate_kid(kid).map_err(|_| {
        Error::invalid_key(format!(
            "the key id of a key string must be 1 to {MAX_KID_LEN} characters from A-Z a-z 0-9 '.' '-'"
        ))
    })?;
    Ok((kid, secret))
}

// Errors about a key string never quote any part of it: a mistyped string can
// put secret digits where the kid or audience belongs.
fn decode_secret(hex_part: &str, max_bytes: usize) -> Result<Zeroizing<Vec<u8>>> {
    if !is_lower_hex(hex_part) || hex_part.len() % 2 != 0 {
        return Err(Error::invalid_key(
            "the secret of a key string must be lowercase hex with an even number of digits",
        ));
    }
    check_secret_len(hex_part.len() / 2, max_bytes)?;
    let mut secret = Zeroizing::new(vec![0u8; hex_part.len() / 2]);
    // Checked above to be lowercase hex of even length, so this cannot fail.
    hex::decode_to_slice(hex_part, secret.as_mut_slice())
        .map_err(|_| Error::invalid_key("the secret of a key string must be lowercase hex"))?;
    Ok(secret)
}

fn check_secret_len(len: usize, max_bytes: usize) -> Result<()> {
    if len < MIN_SECRET_BYTES {
        return Err(Error::invalid_key(format!(
            "the secret has {} bits; at least {} are required",
            len * 8,
            MIN_SECRET_BYTES * 8
        )));
    }
    if len > max_bytes {
        return Err(Error::invalid_key(format!(
            "the secret has {} bytes; at most {max_bytes} are accepted",
            len
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "csk1_prod_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const AUD: &str = "https://happy-otter-123.convex.cloud";

    /// Compiles only if `T`, inferred from the argument, wipes itself on drop.
    fn wiped_on_drop<T: zeroize::ZeroizeOnDrop>(_: &T) {}

    #[test]
    fn the_secret_field_of_every_key_wipes_itself_on_drop() {
        // `T` is the type of `Key::secret` itself, whatever it is declared as:
        // a change of the field to a type that does not wipe (a plain
        // `Vec<u8>`, an array) stops this from compiling.
        let root = Key::parse(ROOT).unwrap();
        wiped_on_drop(&root.secret);
        let derived = root.derive(AUD).unwrap();
        wiped_on_drop(&derived.secret);
        let generated = Key::generate("k").unwrap();
        wiped_on_drop(&generated.secret);
    }

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let root = Key::parse(ROOT).unwrap();
        let derived = root.derive(AUD).unwrap();
        let derived_hex = derived.to_key_string()[11..75].to_owned();
        for text in [
            format!("{root:?}"),
            format!("{root}"),
            format!("{derived:?}"),
            format!("{derived}"),
            format!("{:?}", KeySet::from(derived.clone())),
            format!("{:?}", crate::Signer::new(&root, AUD).unwrap()),
            format!(
                "{:?}",
                crate::Verifier::new(&KeySet::from(root.clone()), AUD).unwrap()
            ),
            format!("{:?}", root.mac_for(AUD).unwrap()),
        ] {
            assert!(!text.contains("0a0b0c"), "{text}");
            assert!(!text.contains(&derived_hex[..16]), "{text}");
        }
        assert_eq!(format!("{root}"), "csk1_prod_<redacted>");
    }

    #[test]
    fn parse_errors_never_quote_the_key_string() {
        let secret = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        for bad in [
            format!("csk1_{secret}_"),
            format!("csk1_{secret}_00"),
            format!("csk1d_{secret}_{secret}"),
            format!("csk1d_k_{secret}@{secret} x"),
            format!("csk1_k/{secret}_{secret}"),
            format!("csk2_k_{secret}"),
            format!("csk1_k_{}", &secret[1..]),
        ] {
            let err = Key::parse(&bad).unwrap_err();
            assert_eq!(err.code(), crate::ErrorCode::InvalidKey);
            assert!(!err.to_string().contains(&secret[..16]), "{err}");
        }
    }

    #[test]
    fn derived_key_round_trips_and_is_bound_to_its_audience() {
        let derived = Key::parse(ROOT).unwrap().derive(AUD).unwrap();
        let text = derived.to_key_string();
        assert!(text.starts_with("csk1d_prod_") && text.ends_with(&format!("@{AUD}")));
        let parsed = Key::parse(&text).unwrap();
        assert_eq!(parsed.audience(), Some(AUD));
        assert!(parsed.mac_for(AUD).is_ok());
        let err = parsed.mac_for("https://other.convex.cloud").unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::InvalidKey);
        assert_eq!(
            parsed.derive(AUD).unwrap_err().code(),
            crate::ErrorCode::InvalidKey
        );
    }

    #[test]
    fn key_sets_pick_by_kid_and_reject_duplicates() {
        let other = ROOT.replace("prod", "old");
        let set = KeySet::parse(&format!(" {ROOT},\n{other} ")).unwrap();
        assert_eq!(set.keys().len(), 2);
        assert_eq!(set.get("old").unwrap().kid(), "old");
        let dup = KeySet::parse(&format!("{ROOT} {ROOT}")).unwrap_err();
        assert_eq!(dup.code(), crate::ErrorCode::InvalidKey);
        assert_eq!(
            KeySet::parse(" , ").unwrap_err().code(),
            crate::ErrorCode::InvalidKey
        );
    }
}
