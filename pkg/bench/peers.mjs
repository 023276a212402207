// Baselines for the side-by-side bench, and nothing else: each is what a JS developer would
// write to sign or verify the same calls by hand. They are NOT library code and NOT a second
// implementation of the protocol — they skip most of SPEC.md's checks (strict parsing, number
// and escape normalization, field-name rules, function-name normalization), which is exactly
// why the package runs the Rust core instead. They only have to compute the same MAC over the
// same message for the bench's payloads, so that they do the same essential work; run.mjs
// checks that they accept callsign's signatures and that callsign accepts theirs.
import { createHmac, randomBytes, timingSafeEqual, webcrypto } from "node:crypto";
import { convexToJson } from "convex/values";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { Webhook } from "standardwebhooks";

const ENVELOPE = "_callsign";
const WINDOW_MS = 60_000;
const encoder = new TextEncoder();

/**
 * The audience key of SPEC.md §6.3 for a root key string, with node:crypto: computed once at
 * setup, as a developer holding the root key would. (The peers never see callsign's key objects.)
 */
export function audienceKey(rootKey, audience) {
  const [, kid, secret] = rootKey.trim().match(/^csk1_([A-Za-z0-9.-]+)_([0-9a-f]+)$/);
  const key = createHmac("sha256", Buffer.from(secret, "hex"))
    .update(`callsign/v1/derive\n${audience}`)
    .digest();
  return { kid, key };
}

/** JSON with object keys sorted recursively: the usual "stable stringify" (JSON input only). */
export function sortedStringify(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(sortedStringify).join(",")}]`;
  const keys = Object.keys(value).sort();
  let out = "{";
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out += ",";
    out += `${JSON.stringify(keys[i])}:${sortedStringify(value[keys[i]])}`;
  }
  return `${out}}`;
}

/** SPEC.md §3.1 framing, as a string (lengths are UTF-8 byte lengths). */
function message(kid, audience, fn, ts, nonce, canonical) {
  const field = (x) => `${Buffer.byteLength(x)}:${x}\n`;
  return `callsign/v1\n${field(kid)}${field(audience)}${field(fn)}${field(String(ts))}${field(nonce)}${field(canonical)}`;
}

/** The envelope checks a hand-written verifier would make; returns the envelope or false. */
function envelopeOf(args, kid, now) {
  const env = args[ENVELOPE];
  if (env === null || typeof env !== "object" || env.v !== 1 || env.kid !== kid) return false;
  if (typeof env.sig !== "string" || env.sig.length !== 64 || typeof env.nonce !== "string") return false;
  if (!Number.isSafeInteger(env.ts) || now - env.ts > WINDOW_MS || env.ts - now > WINDOW_MS) return false;
  return env;
}

/** The received Convex values minus the envelope, as canonical text. */
function canonicalFromValues(args) {
  const { [ENVELOPE]: _, ...rest } = args;
  return sortedStringify(convexToJson(rest));
}

/** Constant-time equality of two byte arrays, for the peers without node:crypto. */
function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/**
 * Sorted stringify + HMAC-SHA256 from `mac(message string) → bytes`: verify and sign, from
 * JSON text (`…Json`) or from Convex values, as a hand-written verifier would do them.
 */
function handWritten({ kid, audience, mac, equal, hex, nonce }) {
  const verifyCanonical = (fn, env, canonical) =>
    equal(mac(message(kid, audience, fn, env.ts, env.nonce, canonical)), env.sig);
  const envelope = (fn, canonical, now, n) => ({
    kid,
    nonce: n,
    sig: hex(mac(message(kid, audience, fn, now, n, canonical))),
    ts: now,
    v: 1,
  });
  return {
    verifyJson(fn, text, now) {
      const parsed = JSON.parse(text);
      const env = envelopeOf(parsed, kid, now);
      if (!env) return false;
      const { [ENVELOPE]: _, ...rest } = parsed;
      return verifyCanonical(fn, env, sortedStringify(rest));
    },
    verify(fn, args, now) {
      const env = envelopeOf(args, kid, now);
      return env ? verifyCanonical(fn, env, canonicalFromValues(args)) : false;
    },
    signJson(fn, text, now) {
      const args = JSON.parse(text);
      return sortedStringify({ ...args, [ENVELOPE]: envelope(fn, sortedStringify(args), now, nonce()) });
    },
    sign(fn, args, now) {
      return { ...args, [ENVELOPE]: envelope(fn, sortedStringify(convexToJson(args)), now, nonce()) };
    },
  };
}

/** node:crypto: createHmac, timingSafeEqual against the decoded hex, randomBytes nonces. */
export function nodeCryptoPeer(rootKey, audience) {
  const { kid, key } = audienceKey(rootKey, audience);
  return handWritten({
    kid,
    audience,
    mac: (msg) => createHmac("sha256", key).update(msg).digest(),
    equal: (mac, sigHex) => timingSafeEqual(mac, Buffer.from(sigHex, "hex")),
    hex: (mac) => mac.toString("hex"),
    nonce: () => randomBytes(16).toString("hex"),
  });
}

/** @noble/hashes: hmac(sha256), pure JS; a constant-time compare of the decoded hex. */
export function noblePeer(rootKey, audience) {
  const { kid, key } = audienceKey(rootKey, audience);
  const k = new Uint8Array(key);
  return handWritten({
    kid,
    audience,
    mac: (msg) => hmac(sha256, k, utf8ToBytes(msg)),
    equal: (mac, sigHex) => equalBytes(mac, hexToBytes(sigHex)),
    hex: bytesToHex,
    nonce: () => bytesToHex(crypto.getRandomValues(new Uint8Array(16))),
  });
}

/**
 * WebCrypto: `subtle.sign("HMAC", key, bytes)` with the key imported once (setup), then a
 * constant-time compare. Async: every call returns a promise, as it would in real code.
 */
export async function webCryptoPeer(rootKey, audience) {
  const { kid, key } = audienceKey(rootKey, audience);
  const { subtle } = webcrypto;
  const cryptoKey = await subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = async (msg) => new Uint8Array(await subtle.sign("HMAC", cryptoKey, encoder.encode(msg)));
  const check = async (fn, env, canonical) =>
    equalBytes(await mac(message(kid, audience, fn, env.ts, env.nonce, canonical)), hexToBytes(env.sig));
  const nonce = () => bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
  const envelope = async (fn, canonical, now) => {
    const n = nonce();
    const sig = bytesToHex(await mac(message(kid, audience, fn, now, n, canonical)));
    return { kid, nonce: n, sig, ts: now, v: 1 };
  };
  return {
    cryptoKey,
    async verifyJson(fn, text, now) {
      const parsed = JSON.parse(text);
      const env = envelopeOf(parsed, kid, now);
      if (!env) return false;
      const { [ENVELOPE]: _, ...rest } = parsed;
      return check(fn, env, sortedStringify(rest));
    },
    async verify(fn, args, now) {
      const env = envelopeOf(args, kid, now);
      return env ? check(fn, env, canonicalFromValues(args)) : false;
    },
    async signJson(fn, text, now) {
      const args = JSON.parse(text);
      return sortedStringify({ ...args, [ENVELOPE]: await envelope(fn, sortedStringify(args), now) });
    },
    async sign(fn, args, now) {
      return { ...args, [ENVELOPE]: await envelope(fn, sortedStringify(convexToJson(args)), now) };
    },
  };
}

/**
 * standardwebhooks (Svix's scheme): the payload text is signed as is (no canonicalization),
 * HMAC-SHA256 in pure JS (fast-sha256), base64 signature in a header, timestamp in seconds
 * checked against Date.now() (±5 min). `verify` also JSON.parses the payload, as callsign's
 * verifyJson does. Headers are signed at setup with the current time, so the bench must finish
 * within the tolerance (it does, by minutes).
 */
export function standardWebhooksPeer(key) {
  const wh = new Webhook(`whsec_${Buffer.from(key).toString("base64")}`);
  return {
    headersFor(payload, id = "msg_2a4b6c8d0e") {
      const now = new Date();
      return {
        "webhook-id": id,
        "webhook-timestamp": String(Math.floor(now.getTime() / 1000)),
        "webhook-signature": wh.sign(id, now, payload),
      };
    },
    verify: (payload, headers) => wh.verify(payload, headers),
    sign: (id, date, payload) => wh.sign(id, date, payload),
  };
}

/** Raw HMAC-SHA256 of prepared bytes: the floor under every verifier above. */
export function rawMacs(key) {
  const k = new Uint8Array(key);
  return {
    nodeCrypto: (bytes) => createHmac("sha256", key).update(bytes).digest(),
    noble: (bytes) => hmac(sha256, k, bytes),
  };
}

export { message };
