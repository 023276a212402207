// Level 3: real clients over the wire. A loopback stand-in for a deployment's HTTP API
// (serveConvex from convex-callsign/test) runs a signed mutation (convex/messages.js, built
// with cs.signed(mutation), the callsign component registered) in convex-test; ConvexHttpClient, fetchMutation from convex/nextjs, a raw fetch and the
// Rust example (examples/rust-signer) call it with signed args. Accepted once; a replay or a
// changed call is rejected with the ConvexError code the module throws.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { convexTest } from "convex-test";
import { ConvexHttpClient } from "convex/browser";
import { fetchMutation } from "convex/nextjs";
import { Signer, deriveKey, generateKey, isCallsignError } from "convex-callsign";
import { convexModules, exportClean, register, serveConvex } from "convex-callsign/test";
import { api } from "./convex/_generated/api.js";
import schema from "./convex/schema.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const root = generateKey("level3");

let t, deployment, signer;

/** Sets the deployment's env as a real one has it: its own URL, and a key derived for it. */
function deploymentEnv(url, keys = deriveKey(root, url)) {
  process.env.CONVEX_CLOUD_URL = url;
  process.env.CALLSIGN_KEYS = keys;
}

before(async () => {
  const modules = await convexModules(new URL("./convex/", import.meta.url));
  t = convexTest(schema, modules);
  register(t);
  deployment = await serveConvex({ t, modules });
  deploymentEnv(deployment.url);
  signer = new Signer(root, { audience: deployment.url });
});

after(() => deployment?.close());

const messageCount = () => t.run(async (ctx) => (await ctx.db.query("messages").collect()).length);
const bodyOf = (id) => t.run(async (ctx) => (await ctx.db.get(id))?.body);

/** The callsign code of the error `promise` rejects with. */
async function codeOf(promise) {
  const e = await promise.then(
    () => assert.fail("expected a rejection"),
    (e) => e,
  );
  assert.ok(isCallsignError(e), `not a callsign error: ${e}`);
  return e.data.code;
}

/** POSTs `body` (an object, or text as is) to `endpoint`; returns {status, json}. */
async function post(endpoint, body, { url = deployment.url, contentType = "application/json" } = {}) {
  const response = await fetch(`${url}${endpoint}`, {
    method: "POST",
    headers: { "Content-Type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: await response.json() };
}

test("ConvexHttpClient: accepted once; a replay, a changed call, another deployment's call rejected", async () => {
  const before = await messageCount();
  const client = new ConvexHttpClient(deployment.url, { logger: false });
  const args = signer.sign("messages:send", { body: "via ConvexHttpClient" });
  const id = await client.mutation(api.messages.send, args);
  assert.equal(await bodyOf(id), "via ConvexHttpClient");
  // What the client sent: positional args in Convex's encoded JSON, and asked for it back.
  const sent = deployment.requests.at(-1);
  assert.equal(sent.endpoint, "/api/mutation");
  assert.equal(sent.body.path, "messages:send");
  assert.equal(sent.body.format, "convex_encoded_json");
  assert.ok(Array.isArray(sent.body.args) && sent.body.args.length === 1);

  assert.equal(await codeOf(client.mutation(api.messages.send, args)), "replayed");
  const changed = { ...signer.sign("messages:send", { body: "meant" }), body: "changed" };
  assert.equal(await codeOf(client.mutation(api.messages.send, changed)), "bad_signature");
  const forOther = new Signer(root, { audience: "https://other-deployment-1.convex.cloud" });
  const elsewhere = forOther.sign("messages:send", { body: "for another deployment" });
  assert.equal(await codeOf(client.mutation(api.messages.send, elsewhere)), "bad_signature");
  assert.equal(await messageCount(), before + 1, "only the accepted call wrote");
});

test("fetchMutation from convex/nextjs with { url }: accepted, then the replay rejected", async () => {
  const args = signer.sign("messages:send", { body: "via fetchMutation" });
  const id = await fetchMutation(api.messages.send, args, { url: deployment.url });
  assert.equal(await bodyOf(id), "via fetchMutation");
  assert.equal(await codeOf(fetchMutation(api.messages.send, args, { url: deployment.url })), "replayed");
});

test("raw POST /api/mutation with format json: the HTTP API's shapes and statuses", async () => {
  const signed = JSON.parse(signer.signJson("messages:send", '{"body":"via fetch"}'));
  // `messages.js:send` is the same function to the backend.
  const ok = await post("/api/mutation", { path: "messages.js:send", args: signed, format: "json" });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.status, "success");
  assert.equal(await bodyOf(ok.json.value), "via fetch");

  const replay = await post("/api/mutation", { path: "messages:send", args: signed, format: "json" });
  assert.equal(replay.status, 200);
  assert.equal(replay.json.status, "error");
  assert.equal(replay.json.errorData.code, "replayed");
  assert.match(replay.json.errorData.message, /already accepted/);
  assert.match(replay.json.errorMessage, /Uncaught ConvexError/);

  // Requests the backend refuses before running anything.
  const asText = await post("/api/mutation", JSON.stringify({ path: "messages:send", args: signed }), {
    contentType: "text/plain",
  });
  assert.deepEqual([asText.status, asText.json.code], [400, "BadJsonBody"]);
  assert.deepEqual((await post("/api/mutation", "{not json")).json.code, "BadJsonBody");
  const badPath = await post("/api/mutation", { path: "messages.ts:send", args: {} });
  assert.deepEqual([badPath.status, badPath.json.code], [400, "BadConvexFunctionIdentifier"]);
  const badFormat = await post("/api/mutation", { path: "messages:send", args: {}, format: "yaml" });
  assert.deepEqual([badFormat.status, badFormat.json.code], [400, "BadFormat"]);
  const badValue = await post("/api/mutation", { path: "messages:send", args: { n: { $integer: "x" } } });
  assert.deepEqual([badValue.status, badValue.json.code], [400, "BadConvexValue"]);
  assert.equal((await post("/api/nothing", {})).status, 404);
  // A function that is not there, or not public, is a function error.
  const missing = await post("/api/mutation", { path: "messages:nope", args: {} });
  assert.equal(missing.json.status, "error");
  assert.match(missing.json.errorMessage, /Could not find public function for 'messages:nope'\./);
  const noDefault = await post("/api/mutation", { path: "messages", args: {} });
  assert.match(noDefault.json.errorMessage, /Could not find public function for 'messages'\./);
});

test("queries and actions over their endpoints, Convex values in and out", async () => {
  // calls.js verifies for a fixed audience; a root key verifies for any.
  deploymentEnv(deployment.url, root);
  try {
    const echoSigner = new Signer(root, { audience: "https://happy-otter-123.convex.cloud" });
    const client = new ConvexHttpClient(deployment.url, { logger: false });
    // count is an int64: {"$integer": …} on the wire, a bigint again inside the function.
    const args = echoSigner.sign("calls:echo", { body: "q", count: 2n ** 40n });
    assert.deepEqual(await client.query(api.calls.echo, args), {
      ok: true,
      kid: "level3",
      function: "calls:echo",
      body: "q",
    });
    assert.equal((await client.action(api.calls.signInside, {})).verified, "inside");

    const raw = JSON.parse(echoSigner.signJson("calls:echo", '{"body":"r","count":{"$integer":"AwAAAAAAAAA="}}'));
    const viaQuery = await post("/api/query", { path: "calls:echo", args: raw, format: "json" });
    assert.deepEqual(viaQuery.json.value, { ok: true, kid: "level3", function: "calls:echo", body: "r" });
    const asAction = await post("/api/action", { path: "calls:echo", args: raw });
    assert.equal(asAction.json.status, "error", "a query is not run as an action");
  } finally {
    deploymentEnv(deployment.url);
  }
});

test("format json exports values as the backend does (int64 as a string, bytes as base64)", () => {
  assert.deepEqual(
    exportClean({ n: 2n ** 40n, b: new Uint8Array([0, 16, 131]).buffer, f: [NaN, -Infinity, 1.5], s: "x", z: null }),
    { n: "1099511627776", b: "ABCD", f: ["NaN", "-Infinity", 1.5], s: "x", z: null },
  );
  assert.throws(() => exportClean({ d: new Date(0) }));
});

test("functionErrorStatus 560: the npm client still re-throws the ConvexError", async () => {
  const legacy = await serveConvex({ t, functionErrorStatus: 560 });
  deploymentEnv(legacy.url);
  try {
    const args = new Signer(root, { audience: legacy.url }).sign("messages:send", { body: "560" });
    const client = new ConvexHttpClient(legacy.url, { logger: false });
    assert.equal(await bodyOf(await client.mutation(api.messages.send, args)), "560");
    const replay = await post("/api/mutation", { path: "messages:send", args, format: "json" }, { url: legacy.url });
    assert.deepEqual([replay.status, replay.json.errorData.code], [560, "replayed"]);
    assert.equal(await codeOf(client.mutation(api.messages.send, args)), "replayed");
  } finally {
    deploymentEnv(deployment.url);
    await legacy.close();
  }
});

test("the stub listens on loopback only", async () => {
  await assert.rejects(serveConvex({ t, host: "0.0.0.0" }), /loopback only/);
});

let builtExample;
/** The Rust example's binary: $CALLSIGN_EXAMPLE_BIN, else built by cargo (a no-op when fresh). */
function exampleBinary() {
  if (process.env.CALLSIGN_EXAMPLE_BIN) return process.env.CALLSIGN_EXAMPLE_BIN;
  if (builtExample) return builtExample;
  const out = execFileSync(
    "cargo",
    ["build", "--quiet", "--locked", "-p", "callsign-example-rust", "--message-format=json-render-diagnostics"],
    { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 64 << 20 },
  );
  const artifact = out
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line))
    .find((m) => m.reason === "compiler-artifact" && m.executable && m.target?.name === "callsign-example-rust");
  assert.ok(artifact, "cargo built no callsign-example-rust binary");
  builtExample = artifact.executable;
  return builtExample;
}

/** Runs the example against the stub (asynchronously: the stub answers from this process). */
async function example(args, key = root, url = deployment.url) {
  // Only what the example reads: no proxy variables, no CALLSIGN_* from the caller.
  const env = { PATH: process.env.PATH, CONVEX_URL: `${url}/`, CALLSIGN_KEY: key };
  const child = spawn(exampleBinary(), args, { env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise((resolve) => child.on("close", resolve));
  return { code, stdout: stdout.trim(), stderr: stderr.trim() };
}

test("the Rust example: accepted; sent twice, the second is rejected as replayed", async () => {
  const once = await example(["messages:send", '{"body":"from rust"}']);
  assert.equal(once.code, 0, once.stderr);
  assert.equal(await bodyOf(JSON.parse(once.stdout)), "from rust");
  const sent = deployment.requests.at(-1).body;
  assert.deepEqual([sent.path, sent.format, typeof sent.args._callsign.sig], ["messages:send", "json", "string"]);
  const secret = root.slice(-64);
  assert.ok(!once.stdout.includes(secret) && !once.stderr.includes(secret));

  const twice = await example(["--send-twice", "messages:send", '{"body":"rust replay"}']);
  assert.equal(twice.code, 1, "the exit status is the replay's");
  assert.equal(await bodyOf(JSON.parse(twice.stdout)), "rust replay");
  assert.match(twice.stderr, /^rejected: replayed: the call with nonce [0-9a-f]+ \(key level3\) was already accepted$/m);

  // The function's error under the older 560 status is read as one, not as an HTTP failure.
  const legacy = await serveConvex({ t, functionErrorStatus: 560 });
  deploymentEnv(legacy.url);
  try {
    const again = await example(["--send-twice", "messages:send", '{"body":"560"}'], root, legacy.url);
    assert.equal(again.code, 1, again.stderr);
    assert.match(again.stderr, /^rejected: replayed: the call with nonce [0-9a-f]+ \(key level3\) was already accepted$/m);
  } finally {
    deploymentEnv(deployment.url);
    await legacy.close();
  }
});

test("the Rust example: rejections, the endpoint per --kind, and usage errors", async () => {
  const stranger = await example(["messages:send", '{"body":"x"}'], generateKey("stranger"));
  assert.equal(stranger.code, 1);
  assert.match(stranger.stderr, /^rejected: unknown_key: /m);

  const asQuery = await example(["--kind", "query", "messages:send", '{"body":"x"}']);
  assert.equal(asQuery.code, 1, "a mutation is not run as a query");
  assert.equal(deployment.requests.at(-1).endpoint, "/api/query");
  assert.match(asQuery.stderr, /^rejected: /);

  const before = deployment.requests.length;
  const notAnObject = await example(["messages:send", "[1]"]);
  assert.equal(notAnObject.code, 2, notAnObject.stderr);
  assert.match(notAnObject.stderr, /^error: cannot sign: malformed: /);
  const noKey = await example(["messages:send"], "");
  assert.deepEqual([noKey.code, noKey.stderr], [2, "error: CALLSIGN_KEY is not set"]);
  const badKey = await example(["messages:send"], "csk1_x_00");
  assert.deepEqual([badKey.code, badKey.stderr.split(":", 2).join(":")], [2, "error: CALLSIGN_KEY"]);
  assert.equal(deployment.requests.length, before, "nothing was sent");
});
