// Cross-checks between the native Rust CLI and the wasm package: a call signed on one side
// verifies on the other, keys derived on one side equal the other's, and a changed call is
// rejected with the same code on both sides.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { convexToJson } from "convex/values";
import { Signer, Verifier, deriveKey, generateKey, inspectKey, CallsignError } from "convex-callsign";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const AUD = "https://happy-otter-123.convex.cloud";

/** The CLI binary: $CALLSIGN_BIN, else target/debug/callsign, built if missing. */
function cliPath() {
  if (process.env.CALLSIGN_BIN) return process.env.CALLSIGN_BIN;
  const bin = `${ROOT}target/debug/callsign`;
  if (!existsSync(bin)) {
    execFileSync("cargo", ["build", "--quiet", "--locked", "-p", "callsign-cli"], {
      cwd: ROOT,
      stdio: "inherit",
    });
  }
  return bin;
}
const CLI = cliPath();

/** Runs the CLI with `input` on stdin; returns {code, stdout, stderr}. */
function cli(args, input, env = {}) {
  const clean = { ...process.env };
  delete clean.CALLSIGN_KEY;
  delete clean.CALLSIGN_KEYS;
  const r = spawnSync(CLI, args, { input, encoding: "utf8", env: { ...clean, ...env } });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

const rootKey = generateKey("cross");
const deployKey = deriveKey(rootKey, AUD);

test("keys: the CLI and the package derive the same key, and read each other's keys", () => {
  const viaCli = cli(["derive", "--audience", AUD], "", { CALLSIGN_KEY: rootKey });
  assert.equal(viaCli.code, 0, viaCli.stderr);
  assert.equal(viaCli.stdout, deployKey);

  const fromCli = cli(["keygen", "--kid", "native"], "");
  assert.equal(fromCli.code, 0, fromCli.stderr);
  assert.deepEqual(inspectKey(fromCli.stdout), { kid: "native", audience: null, root: true });
});

test("a call signed by the Rust CLI verifies in wasm; a changed one fails the same way", () => {
  const args = '{"body":"hi","n":{"$integer":"AQAAAAAAAAA="},"z":{"$float":"AAAAAAAAAIA="}}';
  const signed = cli(["sign", "--audience", AUD, "--function", "messages:send"], args, {
    CALLSIGN_KEY: rootKey,
  });
  assert.equal(signed.code, 0, signed.stderr);

  const verifier = new Verifier(deployKey, { audience: AUD });
  const claims = verifier.verifyJson("messages:send", signed.stdout);
  assert.equal(claims.kid, "cross");
  assert.equal(claims.canonicalArgs, '{"body":"hi","n":{"$integer":"AQAAAAAAAAA="},"z":{"$float":"AAAAAAAAAIA="}}');

  // The same signed args as Convex values (what a Convex function receives).
  const values = JSON.parse(signed.stdout);
  values.n = 1n;
  values.z = -0;
  assert.equal(verifier.verify("messages:send", values).nonce, claims.nonce);

  const changed = signed.stdout.replace('"hi"', '"ho"');
  assert.throws(
    () => verifier.verifyJson("messages:send", changed),
    (e) => e instanceof CallsignError && e.code === "bad_signature",
  );
  const native = cli(["verify", "--audience", AUD, "--function", "messages:send"], changed, {
    CALLSIGN_KEYS: deployKey,
  });
  assert.equal(native.code, 1);
  assert.match(native.stderr, /^bad_signature: /);
});

test("a call signed in wasm verifies in the Rust CLI, with the same canonical args", () => {
  const signer = new Signer(deployKey, { audience: AUD });
  const args = {
    body: "héllo \u{1F600}",
    count: 123456789012345678n,
    blob: new Uint8Array([0, 1, 2, 250]).buffer,
    nan: NaN,
    neg: -0,
    nested: { list: [1.5, 1e21, null, true], empty: {} },
  };
  const signed = signer.sign("dir/file.js:fn", args);

  for (const text of [
    signer.signJson("dir/file:fn", '{"a":[1.0,2E0,"\\u00e9"]}'),
    // What a Convex client sends for the values: convexToJson, then JSON.
    JSON.stringify(convexToJson(signed)),
  ]) {
    const native = cli(["verify", "--audience", AUD, "--function", "dir/file:fn"], text, {
      CALLSIGN_KEYS: rootKey,
    });
    assert.equal(native.code, 0, native.stderr);
    const claims = JSON.parse(native.stdout);
    assert.equal(claims.kid, "cross");
    assert.equal(claims.function, "dir/file:fn");
    // The wasm verifier agrees byte for byte on what was signed.
    const wasm = new Verifier(rootKey, { audience: AUD }).verifyJson("dir/file:fn", text);
    assert.equal(wasm.canonicalArgs, claims.canonical_args);
  }
});

test("a call signed in wasm for one deployment is rejected by the CLI for another", () => {
  const signed = new Signer(rootKey, { audience: AUD }).signJson("messages:send", '{"a":1}');
  const native = cli(
    ["verify", "--audience", "https://other-deployment-456.convex.cloud", "--function", "messages:send"],
    signed,
    { CALLSIGN_KEYS: rootKey },
  );
  assert.equal(native.code, 1);
  assert.match(native.stderr, /^bad_signature: /);
});
