// Compile-time checks of the public types (tsc --noEmit -p test/tsconfig.json); not run.
import {
  CallsignError,
  Signer,
  Verifier,
  type Envelope,
  type ErrorCode,
  type SignedArgs,
  type Verified,
} from "convex-callsign";

const signer = new Signer("csk1_k1_00", { audience: "https://x.convex.cloud" });
const signed = signer.sign("messages:send", { body: "hi", n: 1n });
const body: string = signed.body;
const n: bigint = signed.n;
const envelope: Envelope = signed._callsign;
const version: 1 = envelope.v;

const custom = new Signer("k", { audience: "a", envelopeField: "_sig" });
const withCustom: SignedArgs<{ a: number }, "_sig"> = custom.sign("m:f", { a: 1 });
const customEnvelope: Envelope = withCustom._sig;
// @ts-expect-error the envelope is under _sig, not _callsign
withCustom._callsign;

// @ts-expect-error args must be Convex values
signer.sign("m:f", { when: new Date() });

const claims: Verified = new Verifier("k", { audience: "a" }).verify("m:f", signed);
const until: number = claims.rememberUntil;

function branch(e: unknown): ErrorCode | undefined {
  return e instanceof CallsignError ? e.code : undefined;
}
// @ts-expect-error not an error code
const bad: ErrorCode = "timeout";

export { body, n, version, customEnvelope, until, branch, bad };
