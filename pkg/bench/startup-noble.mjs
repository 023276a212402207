// The pure-JS peer's cold start, run in a fresh process by bench/run.mjs beside startup.mjs and
// timed the same way: import convex/values (which any Convex app has loaded already), then the
// peer's library (@noble/hashes: hmac, sha256, hex), set up a verifier for the same key and
// audience and verify the same signed call (a hand-written verifyJson, as bench/peers.mjs's
// noblePeer: JSON.parse, the envelope checks, sorted stringify, the SPEC.md §3.1 message,
// HMAC-SHA256, a constant-time compare). Prints the phases in ms as JSON, and whether it verified.
const t0 = performance.now();
await import("convex/values");
const t1 = performance.now();
const [{ hmac }, { sha256 }, { bytesToHex, hexToBytes, utf8ToBytes }] = await Promise.all([
  import("@noble/hashes/hmac.js"),
  import("@noble/hashes/sha2.js"),
  import("@noble/hashes/utils.js"),
]);
const t2 = performance.now();
const [rootKey, signedJson] = process.argv.slice(2);
const AUD = "https://happy-otter-123.convex.cloud";

// Setup, as a Verifier's constructor: parse the key, derive the audience key (SPEC.md §6.3).
const [, kid, secret] = rootKey.trim().match(/^csk1_([A-Za-z0-9.-]+)_([0-9a-f]+)$/);
const key = hmac(sha256, hexToBytes(secret), utf8ToBytes(`callsign/v1/derive\n${AUD}`));
const sortedStringify = (value) => {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(sortedStringify).join(",")}]`;
  const keys = Object.keys(value).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out += ",";
    out += `${JSON.stringify(keys[i])}:${sortedStringify(value[keys[i]])}`;
  }
  return `${out}}`;
};
const field = (x) => `${utf8ToBytes(x).length}:${x}\n`;
function verifyJson(fn, text, now) {
  const { _callsign: env, ...rest } = JSON.parse(text);
  if (env === null || typeof env !== "object" || env.v !== 1 || env.kid !== kid) return false;
  if (typeof env.sig !== "string" || env.sig.length !== 64 || typeof env.nonce !== "string") return false;
  if (!Number.isSafeInteger(env.ts) || now - env.ts > 60_000 || env.ts - now > 60_000) return false;
  const msg = `callsign/v1\n${field(kid)}${field(AUD)}${field(fn)}${field(String(env.ts))}${field(env.nonce)}${field(sortedStringify(rest))}`;
  const mac = hmac(sha256, key, utf8ToBytes(msg));
  const sig = hexToBytes(env.sig);
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= mac[i] ^ sig[i];
  return diff === 0 && bytesToHex(mac).length === 64;
}
const ok = verifyJson("messages:send", signedJson, Date.now());
const t3 = performance.now();
console.log(
  JSON.stringify({ convex: t1 - t0, import: t2 - t1, firstVerify: t3 - t2, total: t3 - t1, ok }),
);
