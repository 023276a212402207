// Writes a seed corpus for each fuzz target from the shared vectors:
//   node fuzz/seeds.mjs <corpus dir>
// Each target's input layout is documented in fuzz/src/lib.rs; the first byte
// of most inputs selects a mode, so every seed gets the mode it is meant for.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const vectors = join(here, "../tests/vectors");
const load = (name) => JSON.parse(readFileSync(join(vectors, name), "utf8"));
const out = process.argv[2] ?? join(here, "corpus");

// Inputs longer than this are left out: they slow the fuzzer down.
const MAX_SEED = 4096;
const counts = {};

function seed(target, prefix, body) {
  const bytes = Buffer.concat([Buffer.from(prefix), Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8")]);
  if (bytes.length > MAX_SEED) return;
  const dir = join(out, target);
  mkdirSync(dir, { recursive: true });
  const name = createHash("sha1").update(bytes).digest("hex");
  writeFileSync(join(dir, name), bytes);
  counts[target] = (counts[target] ?? 0) + 1;
}

const expand = (r) => r.prefix + r.unit.repeat(r.count) + r.suffix;
const text = (c, field) =>
  typeof c[field] === "string" ? c[field] : c[`${field}_repeat`] ? expand(c[`${field}_repeat`]) : null;

// canonicalize: [limits selector] + args text. Selector 0 = default limits.
const canonical = load("canonical.json");
for (const c of [...canonical.valid, ...canonical.invalid]) {
  const input = c.input_hex ? Buffer.from(c.input_hex, "hex") : text(c, "input");
  if (input === null) continue;
  seed("canonicalize", [0], input);
  seed("canonicalize", [3], input);
}

// verify: [0] + signed args (raw mode), [1, 0] + args (sign, no mutation).
const verify = load("verify.json");
const envelopes = new Set();
for (const c of [...verify.cases, ...verify.sequences.flatMap((s) => s.steps)]) {
  const signed = text(c, "signed_args");
  if (signed === null) continue;
  seed("verify", [0], signed);
  try {
    const env = JSON.parse(signed)._callsign;
    if (env !== undefined) envelopes.add(JSON.stringify(env));
  } catch {
    // Not JSON: still a raw seed above.
  }
}
const signing = load("signing.json");
for (const c of [...signing.cases, ...signing.invalid]) seed("verify", [1, 0], c.args);
for (const c of canonical.valid) {
  const input = text(c, "input");
  if (input !== null) seed("verify", [1, 0], input);
}

// envelope: the envelope value itself (the baseline's is a valid one).
for (const env of envelopes) seed("envelope", [], env);

// keys: [0] + key string, [1] + key-set text.
const keys = load("keys.json");
for (const c of [...keys.valid, ...keys.invalid]) seed("keys", [0], c.key);
for (const c of keys.derive) {
  seed("keys", [0], c.root);
  seed("keys", [0], c.derived);
}
for (const c of keys.keysets) seed("keys", [1], c.keys);

// http: [0] + "METHOD\nTARGET\n(name: value\n)*\nBODY" for every request of http.json;
// [1] + "METHOD\nTARGET\nBODY" for the signing mode.
const http = load("http.json");
for (const c of [...http.cases, ...http.sequences.flatMap((s) => s.steps)]) {
  const body = c.body_hex !== undefined ? Buffer.from(c.body_hex, "hex") : Buffer.from(c.body, "utf8");
  const head = [c.method, c.target, ...c.headers.map(([n, v]) => `${n}: ${v}`)].join("\n");
  seed("http", [0], Buffer.concat([Buffer.from(`${head}\n\n`), body]));
}
for (const c of http.signing) seed("http", [1], `${c.method}\n${c.target.slice(1)}\n${c.body ?? ""}`);

console.log(Object.entries(counts).map(([t, n]) => `${t}: ${n} seeds`).join(", "));
