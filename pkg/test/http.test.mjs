// Signed HTTP requests through the package (SPEC.md §11): every http.json vector, both
// directions of domain separation, and signedFetch/verifyRequest over real loopback HTTP.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import * as lib from "convex-callsign";
import * as client from "convex-callsign/client";
import * as stores from "convex-callsign/stores";
import { runHttpVectors } from "./http-vectors.mjs";

const { CallsignError, RequestSigner, RequestVerifier, Signer, Verifier, deriveKey } = lib;
const { signRequest, signedFetch, verifyRequest } = client;
const { MemoryNonceStore } = stores;
const KEY = "csk1_k1_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const SITE = "https://happy-otter-123.convex.site";
const CLOUD = "https://happy-otter-123.convex.cloud";
const NONCE = "00112233445566778899aabbccddeeff";
const TS = 1_700_000_000_000;

const rejects = async (f, code) =>
  assert.rejects(f, (e) => {
    assert.ok(e instanceof CallsignError, `not a CallsignError: ${e?.stack ?? e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
const throws = (f, code) =>
  assert.throws(f, (e) => {
    assert.ok(e instanceof CallsignError, `not a CallsignError: ${e?.stack ?? e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });

test("every http.json vector gives Rust's result through the wasm package", async () => {
  const load = (name) => JSON.parse(readFileSync(new URL(`../../tests/vectors/${name}`, import.meta.url), "utf8"));
  const { counts, failures } = await runHttpVectors(lib, client, stores, load);
  assert.deepEqual(failures, []);
  console.log(`http vectors through wasm: ${JSON.stringify(counts)}`);
});

test("a function call's signature never verifies as a request signature", () => {
  for (const [callAudience, siteAudience] of [[SITE, SITE], [CLOUD, SITE]]) {
    const signed = new Signer(KEY, { audience: callAudience }).sign("messages:send", { body: "hi" }, { now: TS, nonce: NONCE });
    const mac = Buffer.from(signed._callsign.sig, "hex").toString("base64");
    const body = new TextEncoder().encode('{"body":"hi"}');
    const honest = new RequestSigner(KEY, { audience: siteAudience }).sign("POST", "/api/send", body, { now: TS, nonce: NONCE });
    const headers = [
      ["content-digest", honest["Content-Digest"]],
      ["signature-input", honest["Signature-Input"]],
      ["signature", `sig1=:${mac}:`],
    ];
    const verifier = new RequestVerifier(KEY, { audience: siteAudience });
    throws(() => verifier.verify({ method: "POST", target: "/api/send", headers, body }, { now: TS }), "bad_signature");
    // The honest request verifies: only the MAC differs.
    headers[2][1] = honest.Signature;
    assert.equal(verifier.verify({ method: "POST", target: "/api/send", headers, body }, { now: TS }).kid, "k1");
  }
});

test("a request's signature never verifies as a function call's", () => {
  for (const [siteAudience, callAudience] of [[SITE, SITE], [SITE, CLOUD]]) {
    const headers = new RequestSigner(KEY, { audience: siteAudience }).sign("POST", "/api/send", new Uint8Array(), {
      now: TS,
      nonce: NONCE,
    });
    const b64 = headers.Signature.slice("sig1=:".length, -1);
    const sig = Buffer.from(b64, "base64").toString("hex");
    const args = { _callsign: { kid: "k1", nonce: NONCE, sig, ts: TS, v: 1 } };
    const verifier = new Verifier(KEY, { audience: callAudience });
    for (const fn of ["messages:send", "api/send:default"]) throws(() => verifier.verify(fn, args, { now: TS }), "bad_signature");
  }
});

/** A loopback server whose handler turns each request into a Fetch Request and verifies it. */
async function withServer(optionsFor, run) {
  const store = new MemoryNonceStore();
  let options;
  const server = createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const headers = new Headers();
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    const body = Buffer.concat(chunks);
    const request = new Request(`http://localhost:3000${req.url}`, {
      method: req.method,
      headers,
      body: body.length > 0 ? body : null,
    });
    try {
      const verified = await verifyRequest(request, { store, ...options });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ...verified, body: new TextDecoder().decode(verified.body) }));
    } catch (e) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: e.code ?? "crash", message: String(e.message) }));
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  options = optionsFor(origin);
  try {
    await run(origin, store);
  } finally {
    server.close();
  }
}

test("signedFetch reaches a verifying server over loopback HTTP; replays and changes are refused", async () => {
  // The server holds only the key derived for its own origin; its audience is that origin.
  await withServer((origin) => ({ keys: deriveKey(KEY, origin), audience: origin }), async (origin) => {
    const url = `${origin}/api/messages/send?channel=general&x=%7E1`;
    const init = { method: "POST", headers: { "content-type": "application/json" }, body: '{"body":"hi"}' };
    const first = await signedFetch(url, init, { key: KEY });
    const claims = await first.json();
    assert.equal(first.status, 200, JSON.stringify(claims));
    assert.deepEqual(
      [claims.kid, claims.method, claims.path, claims.query, claims.body],
      ["k1", "POST", "/api/messages/send", "channel=general&x=%7E1", '{"body":"hi"}'],
    );
    // One signed Request, sent twice: the second is a replay.
    const signed = await signRequest(new Request(url, init), { key: KEY });
    assert.equal((await fetch(signed.clone())).status, 200);
    const again = await (await fetch(signed)).json();
    assert.equal(again.code, "replayed");
    // The same headers on another query, method or body are refused.
    const headers = Object.fromEntries(signed.headers);
    for (const [u, i, code] of [
      [`${origin}/api/messages/send?channel=random&x=%7E1`, { method: "POST", headers, body: '{"body":"hi"}' }, "bad_signature"],
      [url, { method: "PUT", headers, body: '{"body":"hi"}' }, "bad_signature"],
      [url, { method: "POST", headers, body: '{"body":"ho"}' }, "bad_signature"],
    ]) {
      assert.equal((await (await fetch(u, i)).json()).code, code);
    }
    // A GET with no body, signed with the key from CALLSIGN_KEY.
    process.env.CALLSIGN_KEY = KEY;
    try {
      const health = await (await signedFetch(`${origin}/api/health`)).json();
      assert.deepEqual([health.method, health.path, health.query, health.body], ["GET", "/api/health", "", ""]);
    } finally {
      delete process.env.CALLSIGN_KEY;
    }
  });
});

test("verifyRequest refuses a repeated signature header, whichever way the runtime shows it", async () => {
  const request = await signRequest(new Request(`${SITE}/x`, { method: "POST", body: "{}" }), { key: KEY, now: TS });
  for (const name of ["signature", "signature-input", "content-digest"]) {
    const headers = new Headers(request.headers);
    headers.append(name, request.headers.get(name)); // Headers.get() now joins them with ", "
    const repeated = new Request(request.url, { method: "POST", headers, body: "{}" });
    await rejects(() => verifyRequest(repeated, { keys: KEY, audience: SITE, store: null, now: TS }), "malformed");
    // As separate pairs (what Convex's Headers.entries() gives): refused too.
    const pairs = [...request.headers, [name, request.headers.get(name)]];
    throws(
      () =>
        new RequestVerifier(KEY, { audience: SITE }).verify(
          { method: "POST", target: "/x", headers: pairs, body: new TextEncoder().encode("{}") },
          { now: TS },
        ),
      "malformed",
    );
  }
  // Unrepeated, it verifies; the request's own origin (the URL) plays no part.
  const moved = new Request(`http://localhost:3000/x`, { method: "POST", headers: request.headers, body: "{}" });
  const verified = await verifyRequest(moved, { keys: KEY, audience: SITE, store: null, now: TS });
  assert.equal(new TextDecoder().decode(verified.body), "{}");
  await rejects(
    () => verifyRequest(request, { keys: KEY, audience: "https://other-deploy-456.convex.site", store: null, now: TS }),
    "bad_signature",
  );
});

test("verifyRequest enforces the size limit before reading the whole body", async () => {
  let pulled = 0;
  const endless = new ReadableStream({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(1024));
      if (pulled > 10_000) controller.close();
    },
  });
  const request = new Request(`${SITE}/upload`, { method: "POST", body: endless, duplex: "half" });
  await rejects(() => verifyRequest(request, { keys: KEY, audience: SITE, store: null, maxBodyBytes: 4096 }), "too_large");
  assert.ok(pulled < 20, `read ${pulled} chunks of an endless body`);
  // A declared Content-Length over the limit is refused before reading anything.
  const declared = new Request(`${SITE}/upload`, { method: "POST", headers: { "content-length": "5000" }, body: "x" });
  await rejects(() => verifyRequest(declared, { keys: KEY, audience: SITE, store: null, maxBodyBytes: 4096 }), "too_large");
});

test("signRequest refuses what it cannot sign faithfully", async () => {
  // Fetch leaves `patch` in lower case; the profile signs upper-case methods only.
  await rejects(() => signRequest(new Request(`${SITE}/x`, { method: "patch", body: "{}" }), { key: KEY }), "malformed");
  const encoded = new Request(`${SITE}/x`, { method: "POST", headers: { "content-encoding": "gzip" }, body: "x" });
  await rejects(() => signRequest(encoded, { key: KEY }), "malformed");
  await rejects(() => signRequest(new Request(`${SITE}/x`)), "invalid_key");
  // A key derived for the .convex.cloud URL cannot sign for the site origin.
  await rejects(() => signRequest(new Request(`${SITE}/x`), { key: deriveKey(KEY, CLOUD) }), "invalid_key");
  // The default audience is the URL's origin, default port dropped and host lower-cased.
  const signed = await signRequest(new Request("HTTPS://Happy-Otter-123.convex.site:443/x?a=1"), { key: KEY, now: TS, nonce: NONCE });
  const want = new RequestSigner(KEY, { audience: SITE }).sign("GET", "/x?a=1", new Uint8Array(), { now: TS, nonce: NONCE });
  assert.equal(signed.headers.get("signature"), want.Signature);
});

test("the Fetch-API helpers use no Node-only API (they run in Convex actions, Deno, edge runtimes)", () => {
  // The code, without its comments (whose examples mention process.env).
  const code = (file) =>
    readFileSync(new URL(`../dist/${file}`, import.meta.url), "utf8")
      .replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
  for (const file of ["http.js", "stores.js"]) {
    assert.doesNotMatch(code(file), /from "node:|require\(|\bBuffer\b|process\.env|\bfs\./, file);
  }
});

test("many configurations at once: the caches never hand out a freed signer or verifier", async () => {
  // More configurations than the caches hold (16), all in flight together: each is evicted while
  // others are still reading bodies.
  const keys = Array.from({ length: 40 }, (_, i) => lib.generateKey(`k${i}`));
  const signed = await Promise.all(
    keys.map((key) => signRequest(new Request(`${SITE}/x`, { method: "POST", body: "{}" }), { key })),
  );
  const verified = await Promise.all(
    signed.map((request, i) => verifyRequest(request, { keys: keys[i], audience: SITE, store: new MemoryNonceStore() })),
  );
  assert.deepEqual(verified.map((v) => v.kid), keys.map((_, i) => `k${i}`));
});
