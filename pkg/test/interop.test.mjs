// An independent RFC 9421 implementation from the registry verifies callsign's requests:
// npm http-message-sig 0.3.0 (Cloudflare's web-bot-auth), configured strictly, with its own
// HMAC from node:crypto over the key derived for the origin (SPEC.md §11).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac, timingSafeEqual } from "node:crypto";
import { verifySignature } from "http-message-sig";
import { RequestSigner, deriveKey } from "convex-callsign";

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
