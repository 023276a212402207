//! The HTTP profile's wire rules (SPEC.md §11): an RFC 9421 signature of one
//! fixed form, checked exactly rather than parsed as general structured fields.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::error::{quoted, Error, Result};
use crate::key::validate_kid;
use crate::spec::{validate_audience, validate_nonce, MAX_TIMESTAMP_MS};

/// The signature's label, the dictionary key in `Signature-Input` and
/// `Signature`. RFC 9421 does not sign it; the profile fixes it so that a
/// request carries exactly one signature, under one name.
pub const LABEL: &str = "sig1";
/// The `tag` parameter: names the profile, and is signed.
pub const TAG: &str = "callsign";
/// The `alg` parameter.
pub const ALG: &str = "hmac-sha256";
/// The covered components, in the order they appear in the signature base.
pub const COMPONENTS: [&str; 5] = ["@method", "@authority", "@path", "@query", "content-digest"];
/// The covered components as the inner list that `Signature-Input` starts with.
pub const COVERED: &str = r#"("@method" "@authority" "@path" "@query" "content-digest")"#;
/// The order in which the signer writes the five parameters: the one order
/// that every RFC 9421 library tested verifies (some rebuild the parameters
/// in a fixed order instead of taking the received one). The verifier accepts
/// any order.
pub const SIGNER_PARAMETER_ORDER: [&str; 5] = ["created", "nonce", "alg", "keyid", "tag"];
/// The header carrying the body digest (RFC 9530), as the signer writes its name.
pub const CONTENT_DIGEST: &str = "Content-Digest";
/// The header carrying the covered components and parameters.
pub const SIGNATURE_INPUT: &str = "Signature-Input";
/// The header carrying the MAC.
pub const SIGNATURE: &str = "Signature";
/// A header a signed request must not carry: the digest covers the body's
/// bytes as sent, which a decoding layer would change.
pub const CONTENT_ENCODING: &str = "Content-Encoding";
/// Default largest accepted body, in bytes (checked before hashing).
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;
/// Longest accepted request target (path and query), in bytes.
pub const MAX_TARGET_LEN: usize = 8192;
/// Longest accepted method, in letters.
pub const MAX_METHOD_LEN: usize = 32;
/// Largest `created` (seconds): `created · 1000` stays within SPEC.md §3.4.
pub const MAX_CREATED_S: u64 = MAX_TIMESTAMP_MS / 1000;

/// Checks that `audience` is an origin as the profile requires and returns
/// its `@authority`: `https://host[:port]` or `http://host[:port]`, host in
/// lower case, the scheme's default port omitted, nothing after.
///
/// ```
/// use callsign::http::authority;
/// assert_eq!(authority("https://happy-otter-123.convex.site")?, "happy-otter-123.convex.site");
/// assert_eq!(authority("http://127.0.0.1:3211")?, "127.0.0.1:3211");
/// assert!(authority("https://happy-otter-123.convex.site/").is_err());
/// assert!(authority("https://example.com:443").is_err());
/// # Ok::<(), callsign::Error>(())
/// ```
pub fn authority(audience: &str) -> Result<&str> {
    validate_audience(audience)?;
    let not_origin = |why: &str| {
        Error::malformed(format!(
            "the audience of a signed request is an origin, \"https://host[:port]\" with a \
             lower-case host and no default port, path or slash after it: {} {why}",
            quoted(audience)
        ))
    };
    let (rest, default_port) = if let Some(rest) = audience.strip_prefix("https://") {
        (rest, "443")
    } else if let Some(rest) = audience.strip_prefix("http://") {
        (rest, "80")
    } else {
        return Err(not_origin("does not start with https:// or http://"));
    };
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => {
            let (inside, after) = v6
                .split_once(']')
                .ok_or_else(|| not_origin("opens an IPv6 address it does not close"))?;
            let v6_ok = !inside.is_empty()
                && inside.contains(':')
                && inside.bytes().all(|b| {
                    b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b":.".contains(&b)
                });
            if !v6_ok {
                return Err(not_origin(
                    "has an IPv6 address that is not lower-case hex and ':'",
                ));
            }
            (&rest[..inside.len() + 2], after)
        }
        None => match rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.')) {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, ""),
        },
    };
    if !host.starts_with('[') {
        if host.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(not_origin("has upper-case letters in its host"));
        }
        if host.is_empty() || host.split('.').any(str::is_empty) {
            return Err(not_origin(
                "has an empty host or an empty label (a trailing dot?)",
            ));
        }
    }
    if port.is_empty() {
        return Ok(rest);
    }
    let digits = port
        .strip_prefix(':')
        .ok_or_else(|| not_origin("has something after its host"))?;
    let port_ok = !digits.is_empty()
        && digits.len() <= 5
        && !digits.starts_with('0')
        && digits.bytes().all(|b| b.is_ascii_digit())
        && digits.parse::<u32>().is_ok_and(|p| p <= 65_535);
    if !port_ok {
        return Err(not_origin(
            "has a port that is not 1 to 65535 (or something after it)",
        ));
    }
    if digits == default_port {
        return Err(not_origin("names the scheme's default port; omit it"));
    }
    Ok(rest)
}

/// Splits a request target (`/path` or `/path?query`, as sent) into its path
/// and its query without the `?` (empty when there is none).
///
/// A target is 1 to 8192 bytes of printable ASCII (0x21–0x7E) starting with
/// `/`, without `#`: what a client sends in the request line after
/// percent-encoding (a fragment is never sent).
pub fn split_target(target: &str) -> Result<(&str, &str)> {
    if !target.starts_with('/') || target.len() > MAX_TARGET_LEN {
        return Err(Error::malformed(format!(
            "a request target is a path starting with '/' and an optional \"?query\", 1 to \
             {MAX_TARGET_LEN} bytes; got {}",
            quoted(target)
        )));
    }
    if let Some(c) = target.chars().find(|&c| !c.is_ascii_graphic() || c == '#') {
        return Err(Error::malformed(format!(
            "request target {} contains {c:?}: send it percent-encoded, and no fragment",
            quoted(target)
        )));
    }
    Ok(target.split_once('?').unwrap_or((target, "")))
}

/// Checks a method: 1 to 32 upper-case ASCII letters, as sent.
pub fn validate_method(method: &str) -> Result<()> {
    let ok = (1..=MAX_METHOD_LEN).contains(&method.len())
        && method.bytes().all(|b| b.is_ascii_uppercase());
    if ok {
        Ok(())
    } else {
        Err(Error::malformed(format!(
            "a method is 1 to {MAX_METHOD_LEN} upper-case letters, as sent (\"POST\"); got {}",
            quoted(method)
        )))
    }
}

/// The `Content-Digest` value of `body` (RFC 9530): `sha-256=:<base64 of SHA-256>:`.
///
/// ```
/// assert_eq!(callsign::http::content_digest(b""), "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
/// ```
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", BASE64.encode(Sha256::digest(body)))
}

/// The signature parameters as the signer writes them (the value of
/// `Signature-Input` after `sig1=`, and of `@signature-params`).
pub fn signature_params(created: u64, nonce: &str, kid: &str) -> String {
    format!(r#"{COVERED};created={created};nonce="{nonce}";alg="{ALG}";keyid="{kid}";tag="{TAG}""#)
}

/// The signature base (RFC 9421 §2.5) that is MACed: one line per covered
/// component and the `@signature-params` line, joined by LF, no final LF.
/// `query` is the raw query without its `?`; `params` the text after `sig1=`.
///
/// ```
/// let base = callsign::http::signature_base("GET", "a.convex.site", "/x", "", "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:",
///     &callsign::http::signature_params(1700000000, "00112233445566778899aabbccddeeff", "k1"));
/// assert!(base.starts_with("\"@method\": GET\n\"@authority\": a.convex.site\n\"@path\": /x\n\"@query\": ?\n"));
/// ```
pub fn signature_base(
    method: &str,
    authority: &str,
    path: &str,
    query: &str,
    content_digest: &str,
    params: &str,
) -> String {
    let mut out = String::with_capacity(
        160 + method.len() + authority.len() + path.len() + query.len() + params.len(),
    );
    for (component, value) in [
        ("@method", method),
        ("@authority", authority),
        ("@path", path),
    ] {
        out.push('"');
        out.push_str(component);
        out.push_str("\": ");
        out.push_str(value);
        out.push('\n');
    }
    out.push_str("\"@query\": ?");
    out.push_str(query);
    out.push_str("\n\"content-digest\": ");
    out.push_str(content_digest);
    out.push_str("\n\"@signature-params\": ");
    out.push_str(params);
    out
}

/// The `Signature` value for a MAC: `sig1=:<base64>:`.
pub(crate) fn signature_value(mac: &[u8]) -> String {
    format!("{LABEL}=:{}:", BASE64.encode(mac))
}

/// What a valid `Signature-Input` holds.
pub(crate) struct Params<'a> {
    /// The text after `sig1=`, verbatim: `@signature-params` in the base.
    pub text: &'a str,
    pub created: u64,
    pub nonce: &'a str,
    pub kid: &'a str,
}

fn not_profile(what: &str, value: &str, why: &str) -> Error {
    Error::malformed(format!(
        "{what} {} is not the callsign profile's form: {why}",
        quoted(value)
    ))
}

/// Parses `Signature-Input` in the profile's exact form: `sig1=`, the covered
/// components, then `created`, `nonce`, `alg`, `keyid` and `tag`, each exactly
/// once, in any order, with no whitespace and nothing else.
pub(crate) fn parse_signature_input(value: &str) -> Result<Params<'_>> {
    const WHAT: &str = "Signature-Input";
    let text = value
        .strip_prefix(LABEL)
        .and_then(|rest| rest.strip_prefix('='))
        .ok_or_else(|| not_profile(WHAT, value, "it must hold one signature, labelled sig1"))?;
    let mut rest = text.strip_prefix(COVERED).ok_or_else(|| {
        not_profile(
            WHAT,
            value,
            r#"the covered components must be exactly ("@method" "@authority" "@path" "@query" "content-digest")"#,
        )
    })?;
    let (mut created, mut nonce, mut kid) = (None, None, None);
    let (mut alg, mut tag) = (false, false);
    while !rest.is_empty() {
        let param = rest.strip_prefix(';').ok_or_else(|| {
            not_profile(
                WHAT,
                value,
                "after the components come only ;name=value parameters (one signature, no spaces)",
            )
        })?;
        let end = param.find(';').unwrap_or(param.len());
        let (item, after) = param.split_at(end);
        rest = after;
        let (name, val) = item
            .split_once('=')
            .ok_or_else(|| not_profile(WHAT, value, "a parameter has no value"))?;
        let twice = || not_profile(WHAT, value, &format!("parameter {name} appears twice"));
        let quoted_val = || val.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
        match name {
            "created" => {
                let ok = !val.is_empty()
                    && val.len() <= 15
                    && val.bytes().all(|b| b.is_ascii_digit())
                    && (val == "0" || !val.starts_with('0'));
                let secs = val
                    .parse::<u64>()
                    .ok()
                    .filter(|s| ok && *s <= MAX_CREATED_S);
                let secs = secs.ok_or_else(|| {
                    not_profile(
                        WHAT,
                        value,
                        "created is a whole number of seconds, without leading zeros, at most 9007199254740",
                    )
                })?;
                if created.replace(secs).is_some() {
                    return Err(twice());
                }
            }
            "nonce" => {
                let n = quoted_val()
                    .filter(|n| validate_nonce(n).is_ok())
                    .ok_or_else(|| {
                        not_profile(
                            WHAT,
                            value,
                            "nonce is a string of 32 to 64 lowercase hex digits",
                        )
                    })?;
                if nonce.replace(n).is_some() {
                    return Err(twice());
                }
            }
            "keyid" => {
                let k = quoted_val()
                    .filter(|k| validate_kid(k).is_ok())
                    .ok_or_else(|| {
                        not_profile(
                            WHAT,
                            value,
                            "keyid is a string of 1 to 64 characters from A-Z a-z 0-9 '.' '-'",
                        )
                    })?;
                if kid.replace(k).is_some() {
                    return Err(twice());
                }
            }
            "alg" => {
                if val != "\"hmac-sha256\"" {
                    return Err(not_profile(WHAT, value, "alg must be \"hmac-sha256\""));
                }
                if std::mem::replace(&mut alg, true) {
                    return Err(twice());
                }
            }
            "tag" => {
                if val != "\"callsign\"" {
                    return Err(not_profile(WHAT, value, "tag must be \"callsign\""));
                }
                if std::mem::replace(&mut tag, true) {
                    return Err(twice());
                }
            }
            _ => {
                return Err(not_profile(
                    WHAT,
                    value,
                    &format!(
                        "parameter {} is not one of created, nonce, alg, keyid, tag",
                        quoted(name)
                    ),
                ))
            }
        }
    }
    match (created, nonce, kid, alg, tag) {
        (Some(created), Some(nonce), Some(kid), true, true) => Ok(Params {
            text,
            created,
            nonce,
            kid,
        }),
        _ => Err(not_profile(
            WHAT,
            value,
            "it needs created, nonce, alg, keyid and tag, each once",
        )),
    }
}

/// Decodes exactly 32 bytes written as `:<canonical padded base64>:`.
fn sf_binary32(text: &str) -> Option<[u8; 32]> {
    let b64 = text.strip_prefix(':')?.strip_suffix(':')?;
    if b64.len() != 44 {
        return None;
    }
    let bytes = BASE64.decode(b64).ok()?;
    // The engine refuses non-canonical padding and trailing bits; the length
    // check above and this one make 32 bytes the only outcome.
    bytes.try_into().ok()
}

/// Parses `Signature` in the profile's form: `sig1=:<32 bytes, base64>:`.
pub(crate) fn parse_signature(value: &str) -> Result<[u8; 32]> {
    value
        .strip_prefix(LABEL)
        .and_then(|rest| rest.strip_prefix('='))
        .and_then(sf_binary32)
        .ok_or_else(|| {
            not_profile(
                "Signature",
                value,
                "it must be one signature, sig1=:<32 bytes in padded base64>:",
            )
        })
}

/// Checks `Content-Digest` in the profile's form: exactly one member,
/// `sha-256=:<32 bytes, base64>:`.
pub(crate) fn check_content_digest(value: &str) -> Result<()> {
    value
        .strip_prefix("sha-256=")
        .and_then(sf_binary32)
        .map(|_| ())
        .ok_or_else(|| {
            not_profile(
                "Content-Digest",
                value,
                "it must be exactly one member, sha-256=:<32 bytes in padded base64>:",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn origins_and_their_authorities() {
        for (origin, want) in [
            (
                "https://happy-otter-123.convex.site",
                "happy-otter-123.convex.site",
            ),
            ("http://127.0.0.1:3211", "127.0.0.1:3211"),
            ("https://example.com:8443", "example.com:8443"),
            ("http://localhost:443", "localhost:443"),
            ("https://[::1]:8443", "[::1]:8443"),
            ("http://[2001:db8::1]", "[2001:db8::1]"),
        ] {
            assert_eq!(authority(origin).unwrap(), want, "{origin}");
        }
        for bad in [
            "https://Happy-Otter.convex.site",
            "https://a.convex.site/",
            "https://a.convex.site/api",
            "https://a.convex.site?x",
            "https://a.convex.site:443",
            "http://a:80",
            "https://a:0",
            "https://a:65536",
            "https://a:08",
            "https://a:",
            "https://a.convex.site.",
            "https://a..b",
            "https://",
            "ftp://a",
            "HTTPS://a",
            "https://user@a",
            "https://[::1",
            "https://[FE80::1]",
            "a.convex.site",
        ] {
            let err = authority(bad).unwrap_err();
            assert_eq!(err.code(), ErrorCode::Malformed, "{bad}");
        }
    }

    #[test]
    fn targets_split_at_the_first_question_mark() {
        assert_eq!(split_target("/a/b").unwrap(), ("/a/b", ""));
        assert_eq!(split_target("/a?").unwrap(), ("/a", ""));
        assert_eq!(split_target("/a?x=1?y").unwrap(), ("/a", "x=1?y"));
        assert_eq!(split_target("/").unwrap(), ("/", ""));
        for bad in ["", "a", "?x", "/a b", "/a#f", "/é", "/a\n", "*"] {
            assert_eq!(
                split_target(bad).unwrap_err().code(),
                ErrorCode::Malformed,
                "{bad:?}"
            );
        }
        assert!(split_target(&format!("/{}", "a".repeat(MAX_TARGET_LEN - 1))).is_ok());
        assert!(split_target(&format!("/{}", "a".repeat(MAX_TARGET_LEN))).is_err());
    }

    #[test]
    fn parameters_in_any_order_each_once() {
        let nonce = "00112233445566778899aabbccddeeff";
        let good = format!("{LABEL}={}", signature_params(1_700_000_000, nonce, "k1"));
        let p = parse_signature_input(&good).unwrap();
        assert_eq!((p.created, p.nonce, p.kid), (1_700_000_000, nonce, "k1"));
        assert_eq!(p.text, &good[5..]);
        let reordered = format!(
            r#"sig1={COVERED};created=1;keyid="k1";alg="hmac-sha256";nonce="{nonce}";tag="callsign""#
        );
        assert!(parse_signature_input(&reordered).is_ok());
        for bad in [
            good.replace(";tag=\"callsign\"", ""),
            good.replace(";tag=\"callsign\"", ";tag=\"callsign\";tag=\"callsign\""),
            good.replace("created=1700000000", "created=01700000000"),
            good.replace("created=1700000000", "created=-1"),
            good.replace("created=1700000000", "created=9007199254741"),
            good.replace("keyid=\"k1\"", "keyid=k1"),
            good.replace("keyid=\"k1\"", "keyid=\"k_1\""),
            good.replace(";alg", "; alg"),
            good.replace("sig1=", "sig2="),
            format!("{good}, sig2={}", &good[5..]),
            format!("{good};expires=1"),
        ] {
            assert_eq!(
                parse_signature_input(&bad).err().map(|e| e.code()),
                Some(ErrorCode::Malformed),
                "{bad}"
            );
        }
    }

    /// `value` with the base64 digit before `=:` raised by one: the same
    /// bytes with an unused bit set.
    fn non_canonical(value: &str) -> String {
        let at = value.find("=:").unwrap() - 1;
        let digit = value.as_bytes()[at];
        let next = if digit == b'z' { b'0' } else { digit + 1 };
        format!("{}{}{}", &value[..at], next as char, &value[at + 1..])
    }

    #[test]
    fn binary_values_are_exactly_32_canonical_bytes() {
        let sig = signature_value(&[7u8; 32]);
        assert_eq!(parse_signature(&sig).unwrap(), [7u8; 32]);
        let digest = content_digest(b"x");
        check_content_digest(&digest).unwrap();
        for bad in [
            sig.replace("sig1", "sig2"),
            sig.replace('=', ""),
            format!("{sig}, {sig}"),
            signature_value(&[7u8; 31]),
            // The last base64 digit carries 2 unused bits that must be zero.
            non_canonical(&sig),
        ] {
            assert!(parse_signature(&bad).is_err(), "{bad}");
        }
        for bad in [
            format!("{digest}, {digest}"),
            digest.replace("sha-256", "sha-512"),
            digest.replace("=:", "= :"),
        ] {
            assert!(check_content_digest(&bad).is_err(), "{bad}");
        }
    }
}
