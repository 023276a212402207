// Level 1: the shared verify vectors (tests/vectors/verify.json) sent to a signed mutation
// as Convex would deliver them, expecting Rust's outcome: the same error code, or the same
// verified claims (which the handler returns from ctx.callsign).
//
// Each case gets a throwaway app whose `messages` module exports the probe under every
// export name a vector expects, so the function name is bound by Convex itself
// (ctx.meta.getFunctionMetadata()), exactly as in the real app.
import { readFileSync } from "node:fs";
import { Verifier, canonicalize } from "convex-callsign";
import { isCallsignError } from "convex-callsign";
import { Callsign } from "convex-callsign/convex";
import { register } from "convex-callsign/test";
import { convexTest } from "convex-test";
import { makeFunctionReference } from "convex/server";
import { convexToJson, jsonToConvex, v, type Value } from "convex/values";
import { afterEach, expect, test, vi } from "vitest";
import schema from "../convex/schema";
import { components } from "../convex/_generated/api";
import { mutation } from "../convex/_generated/server";

type Window = { max_age_ms: number; max_future_ms: number };
type Limits = { max_bytes: number; max_depth: number };
/** A case or step: every setting is stated in it (the file has no defaults). */
type Case = {
  name: string;
  signed_args?: string;
  now: number;
  function: string;
  keys: string;
  audience: string;
  window: Window;
  limits: Limits;
  envelope_field: string;
  error?: string;
  verified?: { kid: string; function: string; ts: number; nonce: string; remember_until: number };
};
const file = JSON.parse(
  readFileSync(new URL("../../../tests/vectors/verify.json", import.meta.url), "utf8"),
) as { cases: Case[]; sequences: { name: string; steps: Case[] }[] };
// What runs today (of 126 cases; the rest cannot be sent as a Convex call, see delivered()).
// New vectors raise these; a change that silently skipped cases fails.
const MIN_RAN = 99;
const MIN_NEGATIVE = 76;
const MIN_SEQUENCE_STEPS = 25;

afterEach(() => {
  vi.useRealTimers();
});

/**
 * The args a Convex client would deliver for this signed-args text, or why it cannot: the
 * text must be an object of Convex values, and what the function receives must canonicalize
 * as the text does (or the text must survive the trip byte for byte), otherwise the vector
 * tests the transport rather than the verifier.
 */
function delivered(c: Case): { args: Record<string, Value> } | { skip: string } {
  if (typeof c.signed_args !== "string") return { skip: "generated text (size limit case)" };
  if (c.envelope_field !== "_callsign") return { skip: "custom envelope field" };
  let args: Value;
  try {
    args = jsonToConvex(JSON.parse(c.signed_args));
  } catch {
    return { skip: "not Convex JSON" };
  }
  if (args === null || typeof args !== "object" || Array.isArray(args) || args instanceof ArrayBuffer) {
    return { skip: "args are not an object" };
  }
  const sent = JSON.stringify(convexToJson(args));
  if (sent !== c.signed_args) {
    const canon = (text: string) => {
      try {
        return canonicalize(text, { maxDepth: 128, maxBytes: 16 << 20 });
      } catch (e) {
        return `error ${(e as { code: string }).code}`;
      }
    };
    const [before, after] = [canon(c.signed_args), canon(sent)];
    if (before !== after || before.startsWith("error")) return { skip: "changed in transit" };
  }
  return { args: args as Record<string, Value> };
}

/** A case's window and limits, in the package's spelling. */
const windowOf = (c: Case) => ({ maxAgeMs: c.window.max_age_ms, maxFutureMs: c.window.max_future_ms });
const limitsOf = (c: Case) => ({ maxBytes: c.limits.max_bytes, maxDepth: c.limits.max_depth });

/**
 * A fresh app whose `messages:<name>` functions all verify with this case's settings. The
 * window is read on every call from `window`, so a sequence can change it between steps.
 */
function appFor(c: Case, window = windowOf(c)) {
  const cs = new Callsign(components.callsign, {
    keys: () => c.keys,
    audience: () => c.audience,
    window,
    limits: limitsOf(c),
  });
  const probe = (fields: string[]) =>
    cs.signed(mutation)({
      args: Object.fromEntries(fields.map((f) => [f, v.any()])),
      handler: async (ctx) => ctx.callsign,
    });
  return (fields: string[]) => {
    const t = convexTest(schema, {
      "../convex/_generated/api.js": () => import("../convex/_generated/api.js"),
      "../convex/_generated/server.js": () => import("../convex/_generated/server.js"),
      "../convex/messages.js": async () => ({
        send: probe(fields),
        remove: probe(fields),
        default: probe(fields),
      }),
    });
    register(t);
    return t;
  };
}

/** Which function Convex runs: only names a deployment can have (module `messages`). */
function routable(name: string): string | null {
  return ["messages:send", "messages:remove", "messages:default"].includes(name) ? name : null;
}

async function outcome(t: ReturnType<ReturnType<typeof appFor>>, fn: string, args: Record<string, Value>) {
  try {
    return { claims: await t.mutation(makeFunctionReference<"mutation">(fn), args) };
  } catch (e) {
    if (isCallsignError(e)) return { code: e.data.code };
    return { code: `not a callsign error: ${(e as Error).message}` };
  }
}

/**
 * True if this case's verifier cannot even be set up: SPEC §7 has a Convex function answer
 * such a configuration error with `misconfigured`, whatever the core's code for it.
 */
function misconfigured(c: Case): boolean {
  try {
    new Verifier(c.keys, { audience: c.audience, window: windowOf(c), limits: limitsOf(c) }).free();
    return false;
  } catch {
    return true;
  }
}

function expectOutcome(c: Case, got: { claims?: unknown; code?: string }) {
  if (c.error !== undefined) {
    expect(got, c.name).toEqual({ code: misconfigured(c) ? "misconfigured" : c.error });
  } else {
    const w = c.verified!;
    expect(got, c.name).toEqual({
      claims: { kid: w.kid, function: w.function, ts: w.ts, nonce: w.nonce, rememberUntil: w.remember_until },
    });
  }
}

test("every deliverable verify vector gives Rust's outcome through a signed mutation", async () => {
  const ran: string[] = [];
  const skipped: Record<string, number> = {};
  const skip = (why: string) => (skipped[why] = (skipped[why] ?? 0) + 1);
  for (const c of file.cases) {
    const fn = routable(c.function);
    if (fn === null) {
      skip("not a name a deployment can have");
      continue;
    }
    const input = delivered(c);
    if ("skip" in input) {
      skip(input.skip);
      continue;
    }
    vi.useFakeTimers({ toFake: ["Date"], now: c.now });
    if (misconfigured(c)) vi.spyOn(console, "error").mockImplementation(() => {});
    const t = appFor(c)(Object.keys(input.args).filter((k) => k !== "_callsign"));
    expectOutcome(c, await outcome(t, fn, input.args));
    ran.push(c.name);
  }
  const negative = ran.filter((name) => file.cases.find((c) => c.name === name)!.error !== undefined).length;
  console.log(
    `verify vectors through a signed mutation: ${ran.length} ran (${negative} negative), skipped ${JSON.stringify(skipped)}`,
  );
  // Most cases are deliverable; a change that skipped them all would otherwise pass silently.
  expect(ran.length).toBeGreaterThanOrEqual(MIN_RAN);
  expect(negative).toBeGreaterThanOrEqual(MIN_NEGATIVE);
});

test("the replay sequences give Rust's outcomes through one app's replay store", async () => {
  let steps = 0;
  for (const s of file.sequences) {
    const inputs = s.steps.map((step) => ({ step, input: delivered(step) }));
    // convex-test's clock never runs backwards; sequences that step back in time are
    // covered by the watermark test instead.
    const monotonic = s.steps.every((step, i) => i === 0 || step.now >= s.steps[i - 1]!.now);
    if (!monotonic || inputs.some(({ input }) => "skip" in input)) continue;
    vi.useFakeTimers({ toFake: ["Date"], now: s.steps[0]!.now });
    const first = s.steps[0]!;
    const fields = Object.keys((inputs[0]!.input as { args: Record<string, Value> }).args).filter((k) => k !== "_callsign");
    const window = windowOf(first);
    const t = appFor(first, window)(fields);
    for (const { step, input } of inputs) {
      vi.setSystemTime(step.now);
      Object.assign(window, windowOf(step));
      // Rust's store forgets what has expired before each check; here the cleanup does.
      await t.mutation(components.callsign.store.cleanup, {});
      const fn = routable(step.function)!;
      expectOutcome({ ...step, name: `${s.name} @${step.now}` }, await outcome(t, fn, (input as { args: Record<string, Value> }).args));
      steps++;
    }
  }
  console.log(`replay sequences through a signed mutation: ${steps} steps`);
  expect(steps).toBeGreaterThanOrEqual(MIN_SEQUENCE_STEPS);
});
