//! Prints the args `ConvexClient::mutation(FUNCTION, …)` would send for a
//! signed call, as the client writes them (`serde_json::Value::from(convex::Value)`),
//! for a transport other than the client's websocket: Convex's HTTP API takes
//! the same JSON as `args` (tests/e2e/beyond_node.py posts it to the loopback
//! stand-in).
//!
//! ```sh
//! export CONVEX_URL=https://happy-otter-123.convex.cloud CALLSIGN_KEY=csk1_prod_…
//! cargo run -q -p callsign-convex --example signed_args -- messages:send '{"body":"hi"}'
//! # {"_callsign":{"kid":"prod",…,"ts":1700000000000.0,"v":1.0},"body":"hi"}
//! ```
//!
//! ARGS_JSON (default `{}`) is Convex JSON, read into
//! `BTreeMap<String, convex::Value>` as the client reads JSON; it is signed
//! with [`ConvexSigner`] for CONVEX_URL. On a refusal it prints `<code>:
//! <message>` on stderr and exits 1; usage errors exit 2.

use std::process::ExitCode;

use callsign::Key;
use callsign_convex::{from_convex_json, to_convex_json, ConvexSigner};

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1);
    let (Some(function), args, None) = (argv.next(), argv.next(), argv.next()) else {
        eprintln!("usage: signed_args FUNCTION [ARGS_JSON]   (CONVEX_URL, CALLSIGN_KEY set)");
        return ExitCode::from(2);
    };
    let (Ok(url), Ok(key)) = (std::env::var("CONVEX_URL"), std::env::var("CALLSIGN_KEY")) else {
        eprintln!("usage: set CONVEX_URL and CALLSIGN_KEY");
        return ExitCode::from(2);
    };
    let signed = Key::parse(&key)
        .and_then(|key| ConvexSigner::new(&key, &url))
        .and_then(|signer| {
            let args = from_convex_json(args.as_deref().unwrap_or("{}"))?;
            signer.sign(&function, args)
        });
    match signed {
        Ok(args) => {
            println!("{}", to_convex_json(&args));
            ExitCode::SUCCESS
        }
        Err(e) => {
            // callsign's messages hold no key material (SPEC §9).
            eprintln!("{}: {}", e.code(), e.message());
            ExitCode::FAILURE
        }
    }
}
