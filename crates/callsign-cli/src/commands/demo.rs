//! `callsign demo`: a narrated sign-and-verify session that checks its own outcomes.

use callsign::{Key, KeySet, MemoryNonceStore, Signer, Verifier};

use super::verify::Claims;
use crate::error::{CliError, Result, DEMO_FAILED};
use crate::stdio::write_stdout;

/// Examples shown by `callsign demo --help`.
pub const EXAMPLES: &str = "\
Examples:
  callsign demo
  callsign demo > /dev/null && echo \"callsign works here\"";

const AUDIENCE: &str = "https://happy-otter-123.convex.cloud";
const FUNCTION: &str = "messages:send";
const ARGS: &str = r#"{"channel":"general","body":"Hello from the server"}"#;

/// Runs the demo; fails with `demo_failed` if any outcome was unexpected.
pub fn run() -> Result<()> {
    let mut demo = Demo::default();
    demo.say("callsign demo: a server signs a Convex call; the deployment verifies it.");
    demo.say("");

    let root = Key::generate("k1")?;
    demo.say(format!("1. keygen   the server's root key:   {root}"));
    let derived = root.derive(AUDIENCE)?;
    demo.say(format!("2. derive   the deployment's key:    {derived}"));
    demo.say("             (it can verify for this deployment only; secrets stay redacted here)");

    // The server signs with the root key; the deployment holds only the
    // derived key. Acceptance below proves both sides agree on the derivation.
    let call = Signer::new(&root, AUDIENCE)?.sign(FUNCTION, ARGS)?;
    demo.say(format!("3. sign     {FUNCTION} {ARGS}"));
    demo.say(format!("   signed args: {}", call.signed_args));
    demo.say("");

    let verifier = Verifier::new(&KeySet::from(derived), AUDIENCE)?;
    let store = MemoryNonceStore::new();
    // The call arrives a quarter of a second after it was signed.
    let now = call.envelope.ts + 250;
    demo.say(format!(
        "4. verify   at ts + 250 ms, as {FUNCTION}, recording the nonce:"
    ));
    let accepted = verifier.verify_once(&store, FUNCTION, &call.signed_args, now);
    demo.check("the call as sent", None, &accepted);
    if let Ok(claims) = &accepted {
        // Only strings and integers, which always serialize.
        let claims = serde_json::to_string(&Claims::from(claims)).expect("Claims serialize");
        demo.say(format!("   claims: {claims}"));
    }

    let tampered = call
        .signed_args
        .replace("Hello from the server", "Hello from the attacker");
    demo.check(
        "body changed in transit",
        Some("bad_signature"),
        &verifier.verify(FUNCTION, &tampered, now),
    );
    demo.check(
        "sent to messages:remove",
        Some("bad_signature"),
        &verifier.verify("messages:remove", &call.signed_args, now),
    );
    demo.check(
        "verified at ts + 61 s",
        Some("expired"),
        &verifier.verify(FUNCTION, &call.signed_args, call.envelope.ts + 61_000),
    );
    demo.check(
        "the same call a second time",
        Some("replayed"),
        &verifier.verify_once(&store, FUNCTION, &call.signed_args, now),
    );

    demo.say("");
    let total = demo.checks;
    match demo.failures {
        0 => {
            demo.say(format!("All {total} outcomes were as expected."));
            write_stdout(&demo.out, false)
        }
        failures => {
            demo.say(format!(
                "{failures} of {total} outcomes were NOT as expected."
            ));
            write_stdout(&demo.out, false)?;
            Err(CliError::new(
                DEMO_FAILED,
                format!("{failures} of {total} outcomes differed from the expected ones"),
            ))
        }
    }
}

/// The narration, and the tally of checks.
#[derive(Default)]
struct Demo {
    out: String,
    checks: usize,
    failures: usize,
}

impl Demo {
    fn say(&mut self, line: impl AsRef<str>) {
        self.out.push_str(line.as_ref());
        self.out.push('\n');
    }

    /// Narrates one verification: `expected` is the error code, or `None`
    /// for acceptance.
    fn check<T>(&mut self, what: &str, expected: Option<&str>, got: &callsign::Result<T>) {
        let got = match got {
            Ok(_) => "accepted",
            Err(e) => e.code().as_str(),
        };
        let expected = expected.unwrap_or("accepted");
        let verdict = if got == expected {
            "ok"
        } else {
            self.failures += 1;
            "UNEXPECTED"
        };
        self.checks += 1;
        self.say(format!(
            "   {what:<29} expected {expected:<14} got {got:<14} {verdict}"
        ));
    }
}
