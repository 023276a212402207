// An independent RFC 9421 implementation from the registry verifies callsign's requests:
// npm http-message-sig 0.3.0 (Cloudflare's web-bot-auth), configured strictly, with its own
// HMAC from node:crypto over the key derived for the origin (SPEC.md §11).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { createSignatureSync, verifySignature } from "http-message-sig";
import { CallsignError, RequestSigner, RequestVerifier, deriveKey } from "convex-callsign";
import { verifyRequest } from "convex-callsign/client";
import { MemoryNonceStore } from "convex-callsign/stores";

const KEY = "csk1_k1_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const SITE = "https://happy-otter-123.convex.site";
const TS = 1_700_000_000_000;

/** The MAC key K of SPEC.md §6.3: the secret of the key derived for the origin. */
const K = Buffer.from(/^csk1d_k1_([0-9a-f]{64})@/.exec(deriveKey(KEY, SITE))[1], "hex");

async function libraryVerifies({ method, target, headers, nowS = TS / 1000 + 5 }) {
  return verifySignature(
    { kind: "request", method, targetUri: SITE + target, fields: Object.entries(headers).map(([name, value]) => ({ name, value })) },
    {
      label: "sig1",
      policy: {
        algorithms: ["hmac-sha256"],
        requiredComponents: ["@method", "@authority", "@path", "@query", "content-digest"],
        requiredParameters: ["created", "nonce", "alg", "keyid", "tag"],
        maxAge: 0, // with clockSkew 60: callsign's [created - 60 s, created + 60 s]
        clockSkew: 60,
        now: nowS,
        validate: (s) => s.parameters.tag === "callsign",
      },
      resolveVerifier: (candidate) => {
        assert.equal(candidate.parameters.keyid, "k1");
        return {
          algorithm: "hmac-sha256",
          verify: (data, signature) =>
            signature.length === 32 && timingSafeEqual(Buffer.from(signature), createHmac("sha256", K).update(data).digest()),
        };
      },
    },
  );
}

test("http-message-sig 0.3.0 verifies requests signed by callsign, and refuses changed ones", async () => {
  const signer = new RequestSigner(KEY, { audience: SITE });
  const requests = [
    ["POST", "/api/messages/send?channel=general&x=%7e1&a=b+c", '{"body":"hi","n":1}'],
    ["GET", "/api/health", ""],
    ["DELETE", "/api/item/7?force=1", ""],
  ];
  for (const [method, target, body] of requests) {
    const headers = signer.sign(method, target, new TextEncoder().encode(body), { now: TS });
    await libraryVerifies({ method, target, headers });
    await assert.rejects(() => libraryVerifies({ method: method === "GET" ? "PUT" : "GET", target, headers }));
    await assert.rejects(() => libraryVerifies({ method, target: `${target}x`, headers }));
    const other = { ...headers, "Content-Digest": signer.sign(method, target, new TextEncoder().encode("x"), { now: TS })["Content-Digest"] };
    await assert.rejects(() => libraryVerifies({ method, target, headers: other }));
    await assert.rejects(() => libraryVerifies({ method, target, headers, nowS: TS / 1000 + 61 }));
  }
});

/**
 * A request signed by http-message-sig 0.3.0 alone (its createSignatureSync, HMAC and digest from
 * node:crypto, nothing of callsign), with the profile's components and parameters in `order`.
 */
function librarySigns({ method, target, body, order, nonce = "a1".repeat(16), created = TS / 1000, expires }) {
  const digest = `sha-256=:${createHash("sha256").update(body).digest("base64")}:`;
  const values = { created, nonce, alg: "hmac-sha256", keyid: "k1", tag: "callsign", expires };
  const fields = createSignatureSync(
    { kind: "request", method, targetUri: SITE + target, fields: [{ name: "content-digest", value: digest }] },
    {
      label: "sig1",
      components: ["@method", "@authority", "@path", "@query", "content-digest"],
      parameters: Object.fromEntries(order.map((name) => [name, values[name]])),
      signer: { algorithm: "hmac-sha256", sign: (data) => createHmac("sha256", K).update(data).digest() },
    },
  );
  return { "Content-Digest": digest, "Signature-Input": fields.signatureInput, Signature: fields.signature };
}
const pairs = (headers) => Object.entries(headers);

test("callsign's verifier accepts what http-message-sig 0.3.0 signs in the profile's form, and refuses it changed", async () => {
  const verifier = new RequestVerifier(deriveKey(KEY, SITE), { audience: SITE });
  const orders = [
    ["created", "nonce", "alg", "keyid", "tag"], // the profile's own order (byte-identical to ours)
    ["created", "keyid", "alg", "nonce", "tag"], // pyauth's
    ["tag", "keyid", "nonce", "alg", "created"],
  ];
  const body = new TextEncoder().encode('{"from":"http-message-sig"}');
  for (const [i, order] of orders.entries()) {
    const target = `/api/hooks/in?n=${i}&x=%7e`;
    const headers = librarySigns({ method: "POST", target, body, order });
    const claims = verifier.verify({ method: "POST", target, headers: pairs(headers), body }, { now: TS + 1_000 });
    assert.deepEqual(
      { kid: claims.kid, ts: claims.ts, path: claims.path, query: claims.query },
      { kid: "k1", ts: TS, path: "/api/hooks/in", query: `n=${i}&x=%7e` },
    );
    // Through verifyRequest with a Fetch Request (another origin in its URL, as behind a proxy).
    const request = new Request(`http://localhost:3000${target}`, { method: "POST", headers, body });
    const verified = await verifyRequest(request, { keys: KEY, audience: SITE, store: new MemoryNonceStore(), now: TS });
    assert.equal(new TextDecoder().decode(verified.body), '{"from":"http-message-sig"}');
    if (i === 0) {
      // Its headers are ours, byte for byte.
      const ours = new RequestSigner(KEY, { audience: SITE }).sign("POST", target, body, { now: TS, nonce: "a1".repeat(16) });
      assert.deepEqual(headers, ours);
    }
    const refused = (request, code) => {
      try {
        verifier.verify(request, { now: TS });
      } catch (e) {
        assert.ok(e instanceof CallsignError);
        return assert.equal(e.code, code);
      }
      assert.fail(`accepted: ${JSON.stringify(request.headers)}`);
    };
    assert.equal(claims.nonce, "a1".repeat(16));
    refused({ method: "PUT", target, headers: pairs(headers), body }, "bad_signature");
    refused({ method: "POST", target: target.replace("%7e", "%7E"), headers: pairs(headers), body }, "bad_signature");
    refused({ method: "POST", target, headers: pairs(headers), body: new TextEncoder().encode("{}") }, "bad_signature");
  }
  // What the profile leaves out, the library can still sign; callsign refuses it as malformed.
  const extra = librarySigns({ method: "POST", target: "/x", body, order: ["created", "nonce", "alg", "keyid", "tag", "expires"], expires: TS / 1000 + 60 });
  assert.throws(() => verifier.verify({ method: "POST", target: "/x", headers: pairs(extra), body }, { now: TS }), /malformed|expires/);
});
