//! `callsign sign-request` and `callsign verify-request`: signed HTTP
//! requests (SPEC.md §11), for scripts, curl and tests.

use std::io::Read;
use std::path::PathBuf;

use callsign::http::{
    Request, RequestSigner, RequestVerifier, VerifiedRequest, DEFAULT_MAX_BODY_BYTES,
};
use callsign::{Clock, ErrorCode, Nonce, SystemClock, Window};
use serde::Serialize;

use crate::error::{CliError, Result};
use crate::keys::{KeyArg, KeysArg};
use crate::seen::SeenFile;
use crate::stdio::write_stdout;

/// Examples shown by `callsign sign-request --help`.
pub const SIGN_EXAMPLES: &str = "\
Examples:
  export CALLSIGN_KEY=$(cat prod.key)
  SITE=https://happy-otter-123.convex.site
  printf '{\"body\":\"hi\"}' > body.json
  callsign sign-request --audience $SITE --method POST --path '/api/messages?channel=general' --body-file body.json
  # with curl: the headers from a file, the body byte for byte as signed (--data-binary):
  callsign sign-request --audience $SITE --method POST --path /api/messages --body-file body.json > headers.txt
  curl -H @headers.txt --data-binary @body.json $SITE/api/messages";

/// Examples shown by `callsign verify-request --help`.
pub const VERIFY_EXAMPLES: &str = "\
Examples:
  export CALLSIGN_KEYS=$(cat site.key)      # callsign derive --audience https://happy-otter-123.convex.site
  callsign verify-request --audience https://happy-otter-123.convex.site --method POST \\
    --path '/api/messages?channel=general' --body-file body.json \\
    --header \"Content-Digest: $CD\" --header \"Signature-Input: $SI\" --header \"Signature: $SIG\"
  # reject replays across runs of a script:
  callsign verify-request --audience \"$SITE\" --method GET --path /api/health --seen /var/tmp/seen.jsonl --header …";

/// The flags naming a request, shared by both commands.
#[derive(clap::Args)]
pub struct RequestArgs {
    /// The receiver's origin: https://host[:port], lower-case host, no default port, nothing after
    ///
    /// For a Convex HTTP action exactly the deployment's CONVEX_SITE_URL. The
    /// MAC key is the key derived for this origin (`callsign derive --audience`),
    /// never the deployment's .convex.cloud key.
    ///
    /// Example: --audience https://happy-otter-123.convex.site
    #[arg(long, value_name = "AUD")]
    audience: String,

    /// The method, in upper case as sent
    ///
    /// Example: --method POST
    #[arg(long, value_name = "M")]
    method: String,

    /// The request target: the path and, if any, `?` and the raw query, exactly as sent
    ///
    /// Percent-encoding, parameter order and spelling are signed as given:
    /// send what you sign (a Fetch `new URL(u).pathname + search`).
    ///
    /// Example: --path '/api/messages?channel=general'
    #[arg(long, value_name = "P")]
    path: String,

    /// File holding the body's exact bytes; `-` reads stdin [default: an empty body]
    ///
    /// Example: --body-file body.json
    #[arg(long, value_name = "F")]
    body_file: Option<PathBuf>,
}

/// Flags of `callsign sign-request`.
#[derive(clap::Args)]
pub struct SignArgs {
    #[command(flatten)]
    key: KeyArg,

    #[command(flatten)]
    request: RequestArgs,

    /// Signing time in ms since the Unix epoch [default: the system clock]
    ///
    /// `created` is its whole seconds (RFC 9421 has no finer unit).
    ///
    /// Example: --now 1700000000000
    #[arg(long, value_name = "MS")]
    now: Option<u64>,

    /// The request's nonce, 32 to 64 lowercase hex digits [default: 128 random bits]
    ///
    /// Never reuse a nonce with the same key: the receiver accepts each once.
    ///
    /// Example: --nonce 00112233445566778899aabbccddeeff
    #[arg(long, value_name = "N")]
    nonce: Option<String>,
}

/// Flags of `callsign verify-request`.
#[derive(clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    keys: KeysArg,

    #[command(flatten)]
    request: RequestArgs,

    /// A received header, `Name: value`; repeat for each (order and repeats kept)
    ///
    /// The signature's headers (Content-Digest, Signature-Input, Signature)
    /// must each appear once; others are ignored.
    ///
    /// Example: --header "Signature: sig1=:…:"
    #[arg(long = "header", value_name = "H")]
    headers: Vec<String>,

    /// Verification time in ms since the Unix epoch [default: the system clock]
    ///
    /// Example: --now 1700000030000
    #[arg(long, value_name = "MS")]
    now: Option<u64>,

    /// How old a request may be, in ms (created · 1000 + N is the last moment)
    ///
    /// Example: --max-age-ms 30000
    #[arg(long, value_name = "N", default_value_t = Window::DEFAULT_MAX_AGE_MS)]
    max_age_ms: u64,

    /// How far ahead of now a request may be stamped, in ms
    ///
    /// Example: --max-future-ms 5000
    #[arg(long, value_name = "N", default_value_t = Window::DEFAULT_MAX_FUTURE_MS)]
    max_future_ms: u64,

    /// Largest accepted body, in bytes (refused as too_large before hashing)
    ///
    /// Example: --max-body-bytes 65536
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,

    /// Reject replays using FILE as the store of accepted (kid, nonce) pairs
    ///
    /// The same file format and rules as `callsign verify --seen` (and it
    /// may be the same file). For scripts, not concurrent use.
    ///
    /// Example: --seen /var/tmp/callsign-seen.jsonl
    #[arg(long, value_name = "FILE")]
    seen: Option<PathBuf>,
}

/// Signs the request and prints the headers to add, one `Name: value` a line.
pub fn sign(args: &SignArgs) -> Result<()> {
    let signer = RequestSigner::new(&args.key.load()?, &args.request.audience)?;
    let nonce = match &args.nonce {
        Some(text) => Nonce::parse(text)?,
        None => Nonce::generate()?,
    };
    let body = read_body(args.request.body_file.as_ref(), usize::MAX)?;
    let now = args.now.unwrap_or_else(|| SystemClock.now_ms());
    let signed =
        signer.sign_request_at(&args.request.method, &args.request.path, &body, now, &nonce)?;
    let lines: Vec<String> = signed
        .headers()
        .iter()
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    write_stdout(&lines.join("\n"), true)
}

/// Verifies the request and prints its claims as one JSON line.
pub fn verify(args: &VerifyArgs) -> Result<()> {
    let verifier = RequestVerifier::new(&args.keys.load()?, &args.request.audience)?
        .with_window(Window {
            max_age_ms: args.max_age_ms,
            max_future_ms: args.max_future_ms,
        })
        .with_max_body_bytes(args.max_body_bytes);
    let headers = args
        .headers
        .iter()
        .map(|h| parse_header(h))
        .collect::<Result<Vec<_>>>()?;
    let body = read_body(args.request.body_file.as_ref(), args.max_body_bytes)?;
    let request = Request {
        method: &args.request.method,
        target: &args.request.path,
        headers: &headers,
        body: &body,
    };
    let now = args.now.unwrap_or_else(|| SystemClock.now_ms());
    let verified = match &args.seen {
        None => verifier.verify_request(&request, now),
        Some(path) => {
            let seen = SeenFile::load(path)?;
            let verified = verifier.verify_request_once(seen.store(), &request, now);
            if verified.is_ok() {
                seen.save(now)?;
            }
            verified
        }
    }
    .map_err(|e| for_the_operator(e, &verifier))?;
    // Only strings and integers, which always serialize.
    let claims = serde_json::to_string(&Claims::from(&verified)).expect("Claims serialize");
    write_stdout(&claims, true)
}

/// What `verify-request` prints: every field of [`VerifiedRequest`].
#[derive(Serialize)]
struct Claims<'a> {
    kid: &'a str,
    ts: u64,
    nonce: &'a str,
    remember_until: u64,
    method: &'a str,
    path: &'a str,
    query: &'a str,
}

impl<'a> From<&'a VerifiedRequest> for Claims<'a> {
    fn from(v: &'a VerifiedRequest) -> Claims<'a> {
        Claims {
            kid: &v.kid,
            ts: v.ts,
            nonce: &v.nonce,
            remember_until: v.remember_until,
            method: &v.method,
            path: &v.path,
            query: &v.query,
        }
    }
}

/// `Name: value` → (name, value). The core trims the value's spaces.
fn parse_header(text: &str) -> Result<(&str, &str)> {
    match text.split_once(':') {
        Some((name, value)) if !name.is_empty() && !name.contains([' ', '\t']) => Ok((name, value)),
        _ => Err(CliError::call(
            ErrorCode::Malformed,
            format!(
                "--header takes \"Name: value\"; got {} characters without a name and ':'",
                text.chars().count()
            ),
        )),
    }
}

/// The body's bytes from `path` (`-`: stdin), at most `max` (then `too_large`,
/// without reading further); no file is an empty body.
fn read_body(path: Option<&PathBuf>, max: usize) -> Result<Vec<u8>> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let cap = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().lock().take(cap).read_to_end(&mut bytes)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(cap).read_to_end(&mut bytes))
    };
    read.map_err(|e| CliError::io(format!("reading {}", path.display()), e))?;
    if bytes.len() > max {
        return Err(CliError::call(
            ErrorCode::TooLarge,
            format!("the body has more than {max} bytes, the limit set by --max-body-bytes"),
        ));
    }
    Ok(bytes)
}

/// Whoever runs this command is the operator: an `unknown_key` also lists
/// the kids held (the library's message does not, as it may reach a caller).
fn for_the_operator(err: callsign::Error, verifier: &RequestVerifier) -> CliError {
    let code = err.code();
    let cli = CliError::from(err);
    if code != ErrorCode::UnknownKey {
        return cli;
    }
    let held: Vec<&str> = verifier.kids().collect();
    cli.map_message(|m| format!("{m}; it holds {}", held.join(", ")))
}
