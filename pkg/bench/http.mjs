// The cost of signed HTTP requests (SPEC.md §11) in the npm package, next to standardwebhooks
// on the same 1 KB body: sign, and verify, µs per request. Run: cd pkg && ./build && npm run bench:http
//
// callsign raw:   RequestSigner.sign / RequestVerifier.verify on (method, target, headers, bytes):
//                 the Rust core in wasm (SHA-256 of the body, the signature base, HMAC-SHA256).
// callsign fetch: signRequest(Request) / verifyRequest(Request), what an app calls: plus building
//                 and reading Fetch Requests (verifyRequest reads the body from a stream).
// standardwebhooks: Webhook.sign / Webhook.verify (HMAC-SHA256 over id.timestamp.payload in JS,
//                 no body digest, no method/path/query): the peer a webhook receiver would use.
// Every contestant runs interleaved in ~10 ms batches; the figure is the median of the batches.
// The last stdout line is one JSON object with every figure.
import { loadavg } from "node:os";
import { Webhook } from "standardwebhooks";
import { RequestSigner, RequestVerifier, deriveKey } from "convex-callsign";
import { MemoryNonceStore } from "convex-callsign/stores";
import { signRequest, signedFetch, verifyRequest } from "convex-callsign/client";

// signedFetch minus the network: the signing it does before calling fetch (its fast path for
// a body given as bytes), measured by handing it a fetch that returns at once.
async function signedFetchHeaders(url, init) {
  const real = globalThis.fetch;
  globalThis.fetch = async () => new Response(null);
  try {
    return await signedFetch(url, init, { key: KEY });
  } finally {
    globalThis.fetch = real;
  }
}
const ROUNDS = process.argv.includes("--quick") ? 7 : 21;
const KEY = "csk1_k1_000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const SITE = "https://happy-otter-123.convex.site";
const TARGET = "/api/messages/send?channel=general";
const body = new TextEncoder().encode(JSON.stringify({ body: "x".repeat(1024 - 11) }));
if (body.length !== 1024) throw new Error(`body is ${body.length} bytes`);
const bodyText = new TextDecoder().decode(body);
const siteKey = deriveKey(KEY, SITE);
const secret = Buffer.from(/_([0-9a-f]{64})@/.exec(siteKey)[1], "hex");

const signer = new RequestSigner(KEY, { audience: SITE });
const verifier = new RequestVerifier(siteKey, { audience: SITE, window: { maxAgeMs: 1e12 } });
const signed = signer.sign("POST", TARGET, body);
const headers = Object.entries(signed);
const wh = new Webhook(`whsec_${secret.toString("base64")}`);
const whHeaders = (() => {
  const now = new Date();
  return { "webhook-id": "msg_1", "webhook-timestamp": String(Math.floor(now / 1000)), "webhook-signature": wh.sign("msg_1", now, bodyText) };
})();
// A signed Request to verify again and again (the store is skipped: `store: null`).
const signedRequest = await signRequest(new Request(`${SITE}${TARGET}`, { method: "POST", body }), { key: KEY });
const signedHeaders = Object.fromEntries(signedRequest.headers);

// Sanity: each verifies what it should, and refuses a changed body.
verifier.verify({ method: "POST", target: TARGET, headers, body });
wh.verify(bodyText, whHeaders);
try {
  verifier.verify({ method: "POST", target: TARGET, headers, body: body.slice(1) });
  throw new Error("a changed body verified");
} catch (e) {
  if (e.code !== "bad_signature") throw e;
}

const contestants = {
  sign: {
    "callsign raw": () => signer.sign("POST", TARGET, body),
    "callsign signRequest(Request)": () => signRequest(new Request(`${SITE}${TARGET}`, { method: "POST", body }), { key: KEY }),
    "callsign signedFetch's signing": () => signedFetchHeaders(`${SITE}${TARGET}`, { method: "POST", body }),
    standardwebhooks: () => wh.sign("msg_1", new Date(), bodyText),
  },
  verify: {
    "callsign raw": () => verifier.verify({ method: "POST", target: TARGET, headers, body }),
    "new Request only (the bench's overhead)": () => new Request(`${SITE}${TARGET}`, { method: "POST", headers: signedHeaders, body }),
    "new Request + arrayBuffer (any handler reading a body)": () =>
      new Request(`${SITE}${TARGET}`, { method: "POST", headers: signedHeaders, body }).arrayBuffer(),
    "callsign verifyRequest(Request)": () =>
      verifyRequest(new Request(`${SITE}${TARGET}`, { method: "POST", headers: signedHeaders, body }), {
        keys: siteKey,
        audience: SITE,
        window: { maxAgeMs: 1e12 },
        store: null,
      }),
    "callsign raw + memory store": (() => {
      const store = new MemoryNonceStore();
      let i = 0;
      return () => {
        const claims = verifier.verify({ method: "POST", target: TARGET, headers, body });
        store.remember({ ...claims, nonce: (i++).toString(16).padStart(32, "0") }, Date.now());
      };
    })(),
    standardwebhooks: () => wh.verify(bodyText, whHeaders),
  },
};

async function batch(f, n) {
  const t = performance.now();
  for (let i = 0; i < n; i++) await f();
  return ((performance.now() - t) * 1000) / n;
}
// --stat=min: each contestant's fastest batch, the closest to its unloaded time on a shared machine.
const STAT = process.argv.includes("--stat=min") ? "min" : "median";
const median = (xs) => [...xs].sort((a, b) => a - b)[STAT === "min" ? 0 : Math.floor(xs.length / 2)];
const results = {};
for (const [op, group] of Object.entries(contestants)) {
  const sizes = {};
  for (const [name, f] of Object.entries(group)) {
    let n = 0;
    const t = performance.now();
    while (n < 2 || performance.now() - t < 10) {
      await f();
      n++;
    }
    sizes[name] = n;
  }
  const times = Object.fromEntries(Object.keys(group).map((k) => [k, []]));
  for (let r = 0; r < ROUNDS; r++) for (const [name, f] of Object.entries(group)) times[name].push(await batch(f, sizes[name]));
  results[op] = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, +median(v).toFixed(2)]));
}
const load = loadavg()[0].toFixed(2);
console.log(`1 KB request, µs per call (${STAT} of ${ROUNDS} batches; Node ${process.version}, load ${load})`);
for (const [op, r] of Object.entries(results)) {
  for (const [name, us] of Object.entries(r)) {
    const ratio = name === "standardwebhooks" ? "" : `  (${(us / r.standardwebhooks).toFixed(2)}× standardwebhooks)`;
    console.log(`  ${op.padEnd(7)} ${name.padEnd(54)} ${String(us).padStart(8)}${ratio}`);
  }
}
const bytes = headers.reduce((n, [k, v]) => n + k.length + 2 + v.length + 2, 0);
console.log(`  headers added: ${bytes} bytes on the wire (HTTP/1.1), standardwebhooks' ${Object.entries(whHeaders).reduce((n, [k, v]) => n + k.length + 4 + v.length, 0)}`);
console.log(JSON.stringify({ node: process.version, load: +load, stat: STAT, headerBytes: bytes, ...results }));
