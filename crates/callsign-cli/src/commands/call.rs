//! `callsign call`: sign a call and send it to the deployment's HTTP API.

use callsign::{ErrorCode, Signer};
use callsign_http::{CallError, Client, Kind, Outcome, DEFAULT_GATEWAY_MODULE};
use clap::ValueEnum;

use crate::error::{
    CliError, Result, EXIT_FAILED, EXIT_NOT_SENT, EXIT_TRANSPORT, FUNCTION_ERROR, TRANSPORT,
};
use crate::keys::KeyArg;
use crate::redacted;
use crate::stdio::{read_stdin, write_stdout, LimitArgs};

/// Environment variable holding the deployment URL.
pub const URL_ENV: &str = "CONVEX_URL";

/// Examples shown by `callsign call --help`.
pub const EXAMPLES: &str = "\
Examples:
  export CONVEX_URL=https://happy-otter-123.convex.cloud CALLSIGN_KEY=$(cat prod.key)
  callsign call messages:send '{\"body\":\"hello\"}'          # prints the new id, as JSON
  callsign call --kind query messages:list '{\"limit\":10}'
  callsign call --kind action jobs:run '{\"n\":{\"$integer\":\"AwAAAAAAAAA=\"}}'   # an int64
  echo '{\"open\":false}' | callsign call --gateway admin:setOpen -    # an internal mutation, through the gateway
  # branch on the outcome:
  out=$(callsign call messages:send \"$ARGS\" 2>&1); status=$?
  case $status in
    0) echo \"id: $out\" ;;
    1) echo \"refused: ${out%%:*}\" ;;          # replayed, bad_signature, expired, …
    2) echo \"not sent: $out\" ;;
    *) echo \"failed (it may have run): $out\" ;;
  esac";

/// Flags of `callsign call`.
#[derive(clap::Args)]
pub struct Args {
    /// The function, as Convex names it (`messages:send`, `dir/file:fn`)
    ///
    /// With --gateway, the internal function to run through the gateway.
    #[arg(value_name = "FUNCTION")]
    function: String,

    /// Its args: a JSON object in Convex's JSON encoding, or `-` to read them from stdin
    ///
    /// An int64 is {"$integer": "<base64 of 8 little-endian bytes>"}, bytes are
    /// {"$bytes": "<base64>"}; a plain JSON number is a float64.
    #[arg(value_name = "ARGS_JSON", default_value = "{}")]
    args: String,

    /// What kind of function it is: picks the endpoint, /api/<kind>
    ///
    /// With --gateway, the gateway function of that kind: runQuery, runMutation or runAction.
    ///
    /// Example: --kind query
    #[arg(long, value_name = "KIND", value_enum, default_value_t = KindArg::Mutation)]
    kind: KindArg,

    /// The deployment to call [default: CONVEX_URL]
    ///
    /// The call is signed for this URL without its trailing slash, which is
    /// how the deployment's CONVEX_CLOUD_URL reads (unless --audience says otherwise).
    ///
    /// Example: --url https://happy-otter-123.convex.cloud
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// Sign for this audience instead of the URL (a deployment reached through a custom domain)
    ///
    /// Must be what the deployment verifies against: its CONVEX_CLOUD_URL, or the
    /// `audience` its callsign setup was given.
    ///
    /// Example: --audience https://happy-otter-123.convex.cloud
    #[arg(long, value_name = "AUD")]
    audience: Option<String>,

    /// Call the internal FUNCTION through the deployment's gateway
    ///
    /// Sends {function, args, _callsign} to `callsign:runQuery|runMutation|runAction`
    /// (by --kind), signed for FUNCTION and its args; the gateway runs it if it
    /// is on its allow-list (else `not_allowed`).
    ///
    /// Example: --gateway
    #[arg(long)]
    gateway: bool,

    /// The module exporting the gateway functions
    ///
    /// Example: --gateway-module lib/callsign
    #[arg(long, value_name = "MODULE", default_value = DEFAULT_GATEWAY_MODULE, requires = "gateway")]
    gateway_module: String,

    #[command(flatten)]
    key: KeyArg,

    #[command(flatten)]
    limits: LimitArgs,
}

/// `--kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum KindArg {
    Query,
    Mutation,
    Action,
}

impl From<KindArg> for Kind {
    fn from(kind: KindArg) -> Kind {
        match kind {
            KindArg::Query => Kind::Query,
            KindArg::Mutation => Kind::Mutation,
            KindArg::Action => Kind::Action,
        }
    }
}

/// Signs the call, sends it, prints the value the function returned.
pub fn run(args: &Args) -> Result<()> {
    let not_sent = |e: CliError| e.with_exit(EXIT_NOT_SENT);
    let client = client(args).map_err(not_sent)?;
    let kind = Kind::from(args.kind);
    let input = if args.args == "-" {
        read_stdin(args.limits.max_bytes).map_err(not_sent)?
    } else {
        args.args.clone()
    };
    let outcome = if args.gateway {
        client.call_gateway(kind, &args.function, &input)
    } else {
        client.call(kind, &args.function, &input)
    };
    match outcome {
        Ok(Outcome::Returned(value)) => {
            // Only a deployment holding the key could return it; redact anyway.
            write_stdout(&redacted(&value.to_string()), true)
        }
        Ok(Outcome::Threw(error)) => {
            let code = error.code.as_deref().unwrap_or(FUNCTION_ERROR);
            Err(CliError::new(code, one_line(&error.message)).with_exit(EXIT_FAILED))
        }
        Err(CallError::Sign(e)) => Err(CliError::from(e).with_exit(EXIT_NOT_SENT)),
        Err(CallError::Transport(e)) => {
            Err(CliError::new(TRANSPORT, e.message()).with_exit(EXIT_TRANSPORT))
        }
    }
}

/// The HTTP client for the deployment named by --url / CONVEX_URL.
fn client(args: &Args) -> Result<Client> {
    let url = match args.url.clone().or_else(|| std::env::var(URL_ENV).ok()) {
        Some(url) if !url.trim().is_empty() => url,
        _ => {
            return Err(CliError::call(
                ErrorCode::Malformed,
                format!("no deployment URL: pass --url or set {URL_ENV}"),
            ))
        }
    };
    let key = args.key.load()?;
    // CONVEX_CLOUD_URL has no trailing slash; an --audience is taken as given.
    let audience = match &args.audience {
        Some(audience) => audience.as_str(),
        None => url.trim_end_matches('/'),
    };
    let signer = Signer::new(&key, audience)?.with_limits(args.limits.limits());
    Ok(Client::with_signer(&url, signer)?.with_gateway_module(&args.gateway_module))
}

/// A function's message on one line: a deployment's `errorMessage` has
/// several (the request id, then `Uncaught …`).
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
