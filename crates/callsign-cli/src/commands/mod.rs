//! The subcommands: one module each, holding its flags and its `run`.

use callsign::spec::DEFAULT_ENVELOPE_FIELD;
use clap::Subcommand;

use crate::error::Result;

pub mod call;
pub mod canon;
pub mod demo;
pub mod derive;
pub mod keygen;
pub mod request;
pub mod sign;
pub mod verify;

/// Every `callsign` subcommand.
#[derive(Subcommand)]
pub enum Command {
    /// Generate a new root key and print it
    ///
    /// Prints `csk1_<kid>_<64 hex>` and a newline: 256 bits from the
    /// operating system's random source. Keep it secret: store it where
    /// your signing server reads CALLSIGN_KEY.
    #[command(after_long_help = keygen::EXAMPLES)]
    Keygen(keygen::Args),

    /// Derive the key for one deployment from a root key and print it
    ///
    /// Prints `csk1d_<kid>_<64 hex>@<audience>` and a newline. Give a
    /// deployment only its derived key: if it leaks, it cannot sign for any
    /// other deployment.
    #[command(after_long_help = derive::EXAMPLES)]
    Derive(derive::Args),

    /// Print the canonical form of Convex-JSON args read on stdin
    ///
    /// Writes the exact bytes that get signed (RFC 8785 over Convex's JSON
    /// encoding, SPEC.md §2), with no trailing newline. Invalid input exits 1
    /// with `malformed: …` or `too_large: …` on stderr.
    #[command(after_long_help = canon::EXAMPLES)]
    Canon(canon::Args),

    /// Sign a call: read its args on stdin, print the signed args
    ///
    /// Reads the args (a Convex-JSON object), adds the `_callsign` envelope
    /// and prints the result as one line of canonical JSON: send it as the
    /// function's args. Uses the system clock and a random nonce unless
    /// --now / --nonce are given.
    #[command(after_long_help = sign::EXAMPLES)]
    Sign(sign::Args),

    /// Verify a signed call read on stdin; print its claims
    ///
    /// On success exits 0 and prints the verified claims as one JSON line:
    /// {"kid","function","ts","nonce","remember_until","canonical_args"}.
    /// Otherwise exits 1 with `<code>: <message>` on stderr, the code being
    /// one of malformed, too_large, invalid_key, unknown_key, bad_signature,
    /// expired, not_yet_valid, replayed (or io: stdin or the --seen file).
    #[command(after_long_help = verify::EXAMPLES)]
    Verify(verify::Args),

    /// Sign a call and send it to the deployment; print what the function returned
    ///
    /// Signs FUNCTION with ARGS_JSON using CALLSIGN_KEY for the deployment at
    /// --url / CONVEX_URL (the audience is that URL without its trailing
    /// slash), POSTs {"path","args","format":"json"} to <url>/api/<kind> and
    /// prints the returned value as one line of JSON (the HTTP API's `json`
    /// format: an int64 as a decimal string, bytes as base64). With --gateway,
    /// calls an internal function through the gateway instead.
    ///
    /// Exit status: 0 the function returned; 1 it threw, or the deployment
    /// refused the call: stderr starts with the error's data.code (callsign's
    /// code for a refusal: replayed, bad_signature, expired, not_allowed, …) or
    /// `function_error` when it has none; 2 nothing was sent (usage, key, URL or
    /// args: `invalid_key`, `malformed`, `too_large`, `io`); 3 the request failed
    /// (`transport`: network, TLS, timeout, an HTTP error status): the function
    /// may or may not have run.
    #[command(after_long_help = call::EXAMPLES)]
    Call(call::Args),

    /// Sign an HTTP request: print the headers to add, one `Name: value` a line
    ///
    /// Prints Content-Digest, Signature-Input and Signature (RFC 9421, the
    /// HTTP profile of SPEC.md §11) for the method, target and body given, for
    /// the receiver's origin. Send the request exactly as signed: same method,
    /// path, query spelling and body bytes.
    #[command(name = "sign-request", after_long_help = request::SIGN_EXAMPLES)]
    SignRequest(request::SignArgs),

    /// Verify a signed HTTP request; print its claims
    ///
    /// On success exits 0 and prints one JSON line:
    /// {"kid","ts","nonce","remember_until","method","path","query"}.
    /// Otherwise exits 1 with `<code>: <message>` on stderr, as `verify` does.
    #[command(name = "verify-request", after_long_help = request::VERIFY_EXAMPLES)]
    VerifyRequest(request::VerifyArgs),

    /// Run a short narrated sign-and-verify session (doubles as a smoke test)
    ///
    /// Generates a key, derives it for a deployment, signs `messages:send`,
    /// verifies it, then shows a tampered arg, a wrong function, an expired
    /// call and a replay being rejected. Exits 0 only if every outcome is the
    /// expected one.
    #[command(after_long_help = demo::EXAMPLES)]
    Demo,
}

impl Command {
    /// Runs the command.
    pub fn run(&self) -> Result<()> {
        match self {
            Command::Keygen(args) => keygen::run(args),
            Command::Derive(args) => derive::run(args),
            Command::Canon(args) => canon::run(args),
            Command::Sign(args) => sign::run(args),
            Command::Verify(args) => verify::run(args),
            Command::Call(args) => call::run(args),
            Command::SignRequest(args) => request::sign(args),
            Command::VerifyRequest(args) => request::verify(args),
            Command::Demo => demo::run(),
        }
    }
}

/// The flags that name a call, shared by `sign` and `verify`.
#[derive(clap::Args)]
pub struct CallArgs {
    /// The deployment the call is for, byte for byte as CONVEX_CLOUD_URL gives it
    ///
    /// Signer and verifier must use the same string (no trailing slash).
    ///
    /// Example: --audience https://happy-otter-123.convex.cloud
    #[arg(long, value_name = "AUD")]
    pub audience: String,

    /// The Convex function called, as `dir/file:export`
    ///
    /// Normalized as Convex does: `messages` means `messages:default`, and a
    /// trailing `.js` on the module path is dropped.
    ///
    /// Example: --function messages:send
    #[arg(long, value_name = "NAME")]
    pub function: String,

    /// Name of the args field carrying the signature envelope
    ///
    /// Must be a Convex identifier, and the same on both sides.
    ///
    /// Example: --envelope-field _sig
    #[arg(long, value_name = "NAME", default_value = DEFAULT_ENVELOPE_FIELD)]
    pub envelope_field: String,
}
