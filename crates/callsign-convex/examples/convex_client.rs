//! A signed mutation through the official Rust client, `convex::ConvexClient`
//! (websocket sync protocol), then an internal mutation through the gateway.
//!
//! ```sh
//! export CONVEX_URL=https://happy-otter-123.convex.cloud
//! export CALLSIGN_KEY=csk1_prod_…     # or the key derived for CONVEX_URL; never printed
//! cargo run -q -p callsign-convex --example convex_client -- "hello from Rust"
//! # messages:send returned Value(String("k57…"))
//! # replaying the same signed args: ConvexError(… "code": String("replayed") …)
//! ```
//!
//! The deployment needs the README's Convex quick start (examples/quickstart:
//! a `signedMutation` named `messages:send` taking `{body}`, and the gateway
//! with `admin:setOpen` on its mutation allow-list).

use std::collections::BTreeMap;

use callsign::Key;
use callsign_convex::ConvexSigner;
use convex::{ConvexClient, FunctionResult, Value};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("CONVEX_URL")?;
    let key = Key::parse(&std::env::var("CALLSIGN_KEY")?)?;
    let body = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "hello".to_owned());

    // One signer per key and deployment: the audience is the URL (no trailing slash).
    let signer = ConvexSigner::new(&key, &url)?;
    let mut client = ConvexClient::new(&url).await?;

    let args = BTreeMap::from([("body".to_owned(), Value::from(body))]);
    let signed = signer.sign("messages:send", args)?;
    let result = client.mutation("messages:send", signed.clone()).await?;
    println!("messages:send returned {result:?}");

    // The very same signed args again, as someone who captured them would send them.
    match client.mutation("messages:send", signed).await? {
        FunctionResult::ConvexError(e) => println!("replaying the same signed args: {e:?}"),
        other => println!("replay NOT refused: {other:?}"),
    }

    // An internal function, through the gateway (callsign:runMutation).
    let args = BTreeMap::from([("open".to_owned(), Value::from(true))]);
    let result = client
        .mutation(
            "callsign:runMutation",
            signer.gateway_args("admin:setOpen", args)?,
        )
        .await?;
    println!("admin:setOpen through the gateway returned {result:?}");
    Ok(())
}
