// The npm package side by side with what a JS developer would otherwise use (issue 5), in one
// process and on the same payloads: callsign's verify/sign (the Rust core in wasm) against
// sorted-key stringify + HMAC with node:crypto, @noble/hashes and WebCrypto, and against
// standardwebhooks on the same bytes. Also: wasm size, cold start in fresh processes, where
// callsign's 1 KB verify spends its time, and wasm memory over many verifications.
//
// Run: cd pkg && ./build && npm run bench        (about 1.5 min on 2 cores)
//      npm run bench -- --quick                  (fewer rounds and cold starts, no 1 MB row)
//      npm run bench -- --memory                 (1,000,000 verifications instead of 100,000)
//      npm run bench -- --sizes=100b,64k --stat=min   (some sizes only; fastest batch, not median)
// Prints a table, then ONE JSON line (the last line of stdout) with every figure in µs/op,
// ms or bytes, and the ratios callsign ÷ peer (below 1 means callsign is faster).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { gzipSync } from "node:zlib";
import { convexToJson, jsonToConvex } from "convex/values";
import { Signer, Verifier, generateKey } from "convex-callsign";
import * as glue from "../dist/wasm/callsign_wasm.js";
import { convexJsonText } from "./fast-json.mjs";
import { payload } from "./payload.mjs";
import {
  audienceKey,
  message,
  noblePeer,
  nodeCryptoPeer,
  rawMacs,
  sortedStringify,
  standardWebhooksPeer,
  webCryptoPeer,
} from "./peers.mjs";

const flags = new Set(process.argv.slice(2));
const QUICK = flags.has("--quick");
// --stat=min reports each contestant's fastest batch instead of the median: on a loaded
// machine, the closest to its unloaded time (useful for A/B checks; the default is median).
const STAT = process.argv.includes("--stat=min") ? "min" : "median";
const ROUNDS = QUICK ? 7 : 21;
const BATCH_MS = 10;
const COLD_RUNS = QUICK ? 5 : 15;
const MEMORY_N = flags.has("--memory") ? 1_000_000 : 100_000;
const ONLY = process.argv.find((a) => a.startsWith("--sizes="))?.slice(8).split(",");
const ALL_SIZES = [
  ["100b", 100],
  ["1k", 1024],
  ["64k", 65536],
  ...(QUICK ? [] : [["1m", 1_000_000]]),
];
// The 1 KB call is always built: the split and the targets are about it.
const SIZES = ONLY ? ALL_SIZES.filter(([l]) => ONLY.includes(l) || l === "1k") : ALL_SIZES;

const AUD = "https://happy-otter-123.convex.cloud";
const FN = "orders:checkout";
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
const loadBefore = loadavg()[0];

// ---------------------------------------------------------------------------------------------
// Timing. Contestants of one comparison run interleaved, batch by batch, so that load from
// other processes on this shared machine hits all of them alike; each figure is the median of
// ROUNDS batches after warm-up. A batch is sized to take ~BATCH_MS. Async contestants
// (WebCrypto) are awaited one call at a time, which is how a verifier would call them.
// ---------------------------------------------------------------------------------------------
async function timeBatch(c, n) {
  const t = performance.now();
  if (c.async) for (let i = 0; i < n; i++) await c.fn();
  else for (let i = 0; i < n; i++) c.fn();
  return ((performance.now() - t) * 1000) / n;
}

async function race(contestants) {
  for (const c of contestants) {
    // Warm-up doubles as calibration: run until ~BATCH_MS has passed (at least twice).
    let n = 0;
    const t = performance.now();
    do {
      if (c.async) await c.fn();
      else c.fn();
      n++;
    } while (n < 2 || performance.now() - t < BATCH_MS);
    const us = ((performance.now() - t) * 1000) / n;
    c.batch = Math.max(1, Math.round((BATCH_MS * 1000) / us));
    c.runs = [];
  }
  // Ops slower than a batch (the 1 MB row) get fewer rounds, to keep the whole run short.
  const slow = contestants.some((c) => c.batch === 1);
  const rounds = slow ? Math.min(ROUNDS, 7) : ROUNDS;
  for (let r = 0; r < rounds; r++) {
    for (const c of contestants) c.runs.push(await timeBatch(c, c.batch));
  }
  return Object.fromEntries(contestants.map((c) => [c.name, STAT === "min" ? Math.min(...c.runs) : median(c.runs)]));
}

const fresh = (script, ...args) =>
  JSON.parse(
    execFileSync(process.execPath, [...args.filter((a) => a.startsWith("--")), new URL(script, import.meta.url).pathname, ...args.filter((a) => !a.startsWith("--"))], {
      encoding: "utf8",
    }),
  );

// ---------------------------------------------------------------------------------------------
// Size of the module, however the build ships it (inlined base64 today, maybe a file later).
// ---------------------------------------------------------------------------------------------
// wasm_bytes is what a Convex function loads (convex-callsign/convex: the verifier-only
// module); wasm_full_bytes the whole module of the root entry (signing, keys, HTTP too).
const moduleBytes = (dir) => {
  const inlined = new URL(`../src/${dir}/bytes.js`, import.meta.url);
  const file = new URL(`../src/${dir}/callsign_wasm_bg.wasm`, import.meta.url);
  return existsSync(file) ? readFileSync(file) : Buffer.from(readFileSync(inlined, "utf8").match(/"([^"]+)"/)[1], "base64");
};
const wasmBytes = moduleBytes("wasm-verifier");
const wasmFullBytes = moduleBytes("wasm");
results.wasm_bytes = wasmBytes.length;
results.wasm_gzip_bytes = gzipSync(wasmBytes, { level: 9 }).length;
results.wasm_full_bytes = wasmFullBytes.length;
results.wasm_full_gzip_bytes = gzipSync(wasmFullBytes, { level: 9 }).length;
results.wasm_shipped_as = "inlined base64 (bundled into dist/verifier.js and dist/index.js)";

// ---------------------------------------------------------------------------------------------
// Keys, signers, verifiers, peers.
// ---------------------------------------------------------------------------------------------
const key = generateKey("bench");
const signer = new Signer(key, { audience: AUD });
const verifier = new Verifier(key, { audience: AUD });
const node = nodeCryptoPeer(key, AUD);
const noble = noblePeer(key, AUD);
const web = await webCryptoPeer(key, AUD);
const { kid, key: audKey } = audienceKey(key, AUD);
const swh = standardWebhooksPeer(audKey);
const raw = rawMacs(audKey);
// The core without the wrapper, to split callsign's time (bench only). Its text goes in
// through the input buffer in wasm memory, as the wrapper's does (one memcpy of the bytes).
const core = new glue.WasmVerifier(key, AUD);
const encoder = new TextEncoder();
const wasmMemory = glue.initSync().memory; // already instantiated by the package
const load = (bytes) => {
  new Uint8Array(wasmMemory.buffer, glue.inputBuffer(bytes.length), bytes.length).set(bytes);
  return bytes.length;
};
const coreVerify = (bytes, now) => core.verifyInput(FN, load(bytes), now);
const coreCanonicalize = (bytes) => glue.canonicalizeInput(load(bytes));

// ---------------------------------------------------------------------------------------------
// Sanity: every verifier accepts the valid call and rejects a tampered one, and each peer
// computes callsign's exact signature (so all do the same work). A broken peer stops the bench.
// ---------------------------------------------------------------------------------------------
function must(cond, what) {
  if (!cond) throw new Error(`bench sanity check failed: ${what}`);
}
async function rejects(f) {
  try {
    return (await f()) === false;
  } catch {
    return true;
  }
}
async function sanity(label, call) {
  const { signed, signedJson, tamperedJson, tampered, args, argsJson, now, headers } = call;
  must(verifier.verifyJson(FN, signedJson, { now }).kid === kid, `${label}: callsign verifyJson`);
  must(verifier.verify(FN, signed, { now }).kid === kid, `${label}: callsign verify`);
  must(await rejects(() => verifier.verifyJson(FN, tamperedJson, { now })), `${label}: callsign rejects tampered text`);
  must(await rejects(() => verifier.verify(FN, tampered, { now })), `${label}: callsign rejects tampered values`);
  for (const [name, peer] of [["node:crypto", node], ["@noble/hashes", noble], ["WebCrypto", web]]) {
    must((await peer.verifyJson(FN, signedJson, now)) === true, `${label}: ${name} verifyJson`);
    must((await peer.verify(FN, signed, now)) === true, `${label}: ${name} verify`);
    must(await rejects(() => peer.verifyJson(FN, tamperedJson, now)), `${label}: ${name} rejects tampered text`);
    must(await rejects(() => peer.verify(FN, tampered, now)), `${label}: ${name} rejects tampered values`);
    // And the other way round: callsign accepts what the peer signs.
    const theirs = await peer.sign(FN, args, now);
    must(verifier.verify(FN, theirs, { now }).kid === kid, `${label}: callsign verifies ${name}'s sign`);
    const theirsJson = await peer.signJson(FN, argsJson, now);
    must(verifier.verifyJson(FN, theirsJson, { now }).kid === kid, `${label}: callsign verifies ${name}'s signJson`);
  }
  must(swh.verify(signedJson, headers) !== undefined, `${label}: standardwebhooks verify`);
  must(await rejects(() => swh.verify(tamperedJson, headers)), `${label}: standardwebhooks rejects tampered`);
  // The wrapper prototype writes exactly the text convexToJson + JSON.stringify write.
  must(convexJsonText(signed) === signedJson, `${label}: fast-json prototype`);
}

function makeCall(bytes) {
  const args = payload(bytes);
  const argsJson = JSON.stringify(convexToJson(args));
  const now = Date.now();
  // What a client sends: the signed args' Convex JSON (callsign's signJson gives the same)...
  const signedJson = JSON.stringify(convexToJson(signer.sign(FN, args, { now })));
  // ...and what a Convex function receives: values decoded from it (members sorted).
  const signed = jsonToConvex(JSON.parse(signedJson));
  const tampered = { ...signed, action: "checkouT" };
  const tamperedJson = signedJson.replace('"checkout"', '"checkouT"');
  const headers = swh.headersFor(signedJson);
  return { args, argsJson, signed, signedJson, tampered, tamperedJson, now, headers };
}

const calls = Object.fromEntries(SIZES.map(([label, bytes]) => [label, makeCall(bytes)]));
for (const [label, call] of Object.entries(calls)) await sanity(label, call);

// V8 runs wasm first in its baseline tier (Liftoff) and tiers hot functions up to TurboFan in
// the background; without this warm-up the first rows would time baseline code.
{
  const { args, argsJson, signed, signedJson, now } = calls["1k"];
  const t = performance.now();
  while (performance.now() - t < (QUICK ? 300 : 1000)) {
    verifier.verifyJson(FN, signedJson, { now });
    verifier.verify(FN, signed, { now });
    signer.signJson(FN, argsJson, { now });
    signer.sign(FN, args, { now });
  }
}

// ---------------------------------------------------------------------------------------------
// Side by side, per size. Text in: the signed args as JSON text (callsign verifyJson/signJson,
// the peers JSON.parse it, standardwebhooks MACs it as is). Values in: the Convex values a
// Convex function receives (bigint, ArrayBuffer), which callsign and the peers turn into JSON
// with convexToJson. Ratios compare like with like: text with text, values with values.
// ---------------------------------------------------------------------------------------------
const PEERS = [
  ["node_crypto", "sorted stringify + node:crypto createHmac", node],
  ["noble", "sorted stringify + @noble/hashes hmac", noble],
  ["webcrypto", "sorted stringify + WebCrypto subtle.sign", web],
];
for (const [label, call] of Object.entries(calls)) {
  const { args, argsJson, signed, signedJson, headers, now } = call;
  results[`args_${label}_bytes`] = Buffer.byteLength(argsJson);
  results[`signed_args_${label}_bytes`] = Buffer.byteLength(signedJson);
  const swhDate = new Date();
  const groups = {
    verify_json: [
      { name: "callsign", fn: () => verifier.verifyJson(FN, signedJson, { now }) },
      ...PEERS.map(([id, , p]) => ({ name: id, async: id === "webcrypto", fn: () => p.verifyJson(FN, signedJson, now) })),
      { name: "standardwebhooks", fn: () => swh.verify(signedJson, headers) },
    ],
    verify_values: [
      { name: "callsign", fn: () => verifier.verify(FN, signed, { now }) },
      ...PEERS.map(([id, , p]) => ({ name: id, async: id === "webcrypto", fn: () => p.verify(FN, signed, now) })),
    ],
    sign_json: [
      { name: "callsign", fn: () => signer.signJson(FN, argsJson, { now }) },
      ...PEERS.map(([id, , p]) => ({ name: id, async: id === "webcrypto", fn: () => p.signJson(FN, argsJson, now) })),
      { name: "standardwebhooks", fn: () => swh.sign("msg_2a4b6c8d0e", swhDate, argsJson) },
    ],
    sign_values: [
      { name: "callsign", fn: () => signer.sign(FN, args, { now }) },
      ...PEERS.map(([id, , p]) => ({ name: id, async: id === "webcrypto", fn: () => p.sign(FN, args, now) })),
    ],
  };
  for (const [group, contestants] of Object.entries(groups)) {
    const [op, form] = group.split("_");
    const us = await race(contestants);
    for (const [name, v] of Object.entries(us)) {
      const suffix = name === "standardwebhooks" ? "" : `_${form}`;
      results[`${op}_${label}_${name}${suffix}_us`] = v;
      if (name !== "callsign") {
        results[`ratio_${op}_${label}_${form}_vs_${name}`] = us.callsign / v;
      }
    }
  }
  // The floor under all of them: HMAC-SHA256 of the prepared message bytes.
  const canonical = sortedStringify(convexToJson({ ...args }));
  const msg = encoder.encode(message(kid, AUD, FN, now, "00112233445566778899aabbccddeeff", canonical));
  results[`message_${label}_bytes`] = msg.length;
  const floor = await race([
    { name: "node_crypto", fn: () => raw.nodeCrypto(msg) },
    { name: "noble", fn: () => raw.noble(msg) },
    { name: "webcrypto", async: true, fn: () => crypto.subtle.sign("HMAC", web.cryptoKey, msg) },
  ]);
  for (const [name, v] of Object.entries(floor)) results[`hmac_${label}_${name}_us`] = v;
}
// The targets' names for the 1 KB row.
results.ratio_verify_1k_vs_node_crypto = results.ratio_verify_1k_json_vs_node_crypto;
results.ratio_verify_1k_vs_standardwebhooks = results.ratio_verify_1k_json_vs_standardwebhooks;

// ---------------------------------------------------------------------------------------------
// Where callsign's 1 KB verify goes, against the node:crypto peer's steps.
// ---------------------------------------------------------------------------------------------
{
  const { signed, signedJson, now, args } = calls["1k"];
  const bytes = encoder.encode(signedJson);
  const unsignedBytes = encoder.encode(JSON.stringify(convexToJson(args)));
  const parsed = JSON.parse(signedJson);
  const { _callsign: env, ...rest } = parsed;
  const canon = sortedStringify(rest);
  const msgText = message(kid, AUD, FN, env.ts, env.nonce, canon);
  // The same steps for ~100 B args: what every call pays regardless of size.
  const tiny = payload(100);
  const tinySigned = encoder.encode(signer.signJson(FN, JSON.stringify(convexToJson(tiny)), { now }));
  const tinyUnsigned = encoder.encode(JSON.stringify(convexToJson(tiny)));
  const split = await race([
    { name: "core_verify_100b", fn: () => coreVerify(tinySigned, now) },
    { name: "core_canonicalize_100b", fn: () => coreCanonicalize(tinyUnsigned) },
    { name: "convex_to_json_stringify", fn: () => JSON.stringify(convexToJson(signed)) },
    { name: "fast_json_prototype", fn: () => convexJsonText(signed) },
    { name: "text_encode", fn: () => encoder.encode(signedJson) },
    { name: "core_verify", fn: () => coreVerify(bytes, now) },
    { name: "core_canonicalize", fn: () => coreCanonicalize(unsignedBytes) },
    { name: "wrapper_verify_json", fn: () => verifier.verifyJson(FN, signedJson, { now }) },
    { name: "wrapper_verify_values", fn: () => verifier.verify(FN, signed, { now }) },
    { name: "wrapper_verify_json_of_fast_json", fn: () => verifier.verifyJson(FN, convexJsonText(signed), { now }) },
    { name: "peer_json_parse", fn: () => JSON.parse(signedJson) },
    { name: "peer_sorted_stringify", fn: () => sortedStringify(rest) },
    { name: "peer_sorted_stringify_of_values", fn: () => sortedStringify(convexToJson(args)) },
    { name: "peer_hmac_node_crypto", fn: () => raw.nodeCrypto(msgText) },
  ]);
  for (const [name, v] of Object.entries(split)) results[`split_1k_${name}_us`] = v;
  // SHA-256 throughput in wasm vs node:crypto: a 64 KB string value parses at GB/s, so
  // verify − canonicalize of the same args is nearly all HMAC.
  const big = { s: "a".repeat(65536) };
  const bigSigned = encoder.encode(signer.signJson(FN, JSON.stringify(big), { now }));
  const bigUnsigned = encoder.encode(JSON.stringify(big));
  const bigMsg = encoder.encode(message(kid, AUD, FN, now, "00112233445566778899aabbccddeeff", JSON.stringify(big)));
  const hm = await race([
    { name: "core_verify", fn: () => coreVerify(bigSigned, now) },
    { name: "core_canonicalize", fn: () => coreCanonicalize(bigUnsigned) },
    { name: "node_crypto", fn: () => raw.nodeCrypto(bigMsg) },
    { name: "noble", fn: () => raw.noble(bigMsg) },
  ]);
  const mbps = (us) => bigMsg.length / us; // bytes per µs = MB/s
  results.sha256_wasm_mb_s = mbps(hm.core_verify - hm.core_canonicalize);
  results.sha256_node_crypto_mb_s = mbps(hm.node_crypto);
  results.sha256_noble_mb_s = mbps(hm.noble);
}

// ---------------------------------------------------------------------------------------------
// Cold start, each in a fresh node process: the module's phases, then import → first verify.
// ---------------------------------------------------------------------------------------------
{
  const phases = Array.from({ length: COLD_RUNS }, () => fresh("./compile.mjs"));
  results.cold_runs = COLD_RUNS;
  results.cold_load_module_js_ms = median(phases.map((p) => p.load));
  results.cold_decode_ms = median(phases.map((p) => p.decode));
  results.cold_compile_ms = median(phases.map((p) => p.compile));
  results.cold_instantiate_ms = median(phases.map((p) => p.instantiate));
  const small = signer.signJson("messages:send", '{"body":"hello"}');
  // callsign and the pure-JS peer (@noble/hashes + sorted stringify) alternate, process by
  // process, on the same signed call, so that load from other processes hits both alike.
  const cold = [];
  const coldVerifier = [];
  const coldNoble = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    cold.push(fresh("./startup.mjs", key, small));
    coldVerifier.push(fresh("./startup.mjs", key, small, "verifier"));
    coldNoble.push(fresh("./startup-noble.mjs", key, small));
  }
  must(coldNoble.every((c) => c.ok === true), "cold start: the @noble/hashes peer verifies the call");
  results.cold_convex_values_import_ms = median(cold.map((c) => c.convex));
  results.cold_import_ms = median(cold.map((c) => c.import));
  results.cold_init_first_verify_ms = median(cold.map((c) => c.firstVerify));
  results.cold_total_ms = median(cold.map((c) => c.total));
  results.cold_noble_import_ms = median(coldNoble.map((c) => c.import));
  results.cold_noble_first_verify_ms = median(coldNoble.map((c) => c.firstVerify));
  results.cold_noble_total_ms = median(coldNoble.map((c) => c.total));
  // The verifier-only bundle, as convex-callsign/convex loads it.
  results.cold_verifier_import_ms = median(coldVerifier.map((c) => c.import));
  results.cold_verifier_init_first_verify_ms = median(coldVerifier.map((c) => c.firstVerify));
  results.cold_verifier_total_ms = median(coldVerifier.map((c) => c.total));
  // The median of the pairs' ratios: each pair ran back to back.
  results.ratio_cold_vs_noble = median(cold.map((c, i) => c.total / coldNoble[i].total));
  results.ratio_cold_verifier_vs_noble = median(coldVerifier.map((c, i) => c.total / coldNoble[i].total));
}

// ---------------------------------------------------------------------------------------------
// Memory over many verifications of a small call, in a fresh process.
// ---------------------------------------------------------------------------------------------
{
  const m = fresh("./memory.mjs", "--expose-gc", String(MEMORY_N));
  must(m.verified === MEMORY_N, "memory run: every verification succeeded");
  results.memory_verifications = MEMORY_N;
  results.memory_wasm_before_bytes = m.wasm_before;
  results.memory_wasm_after_bytes = m.wasm_after;
  results.memory_wasm_peak_bytes = m.wasm_peak;
  results.memory_wasm_growth_bytes = m.wasm_after - m.wasm_before;
  results.memory_heap_before_bytes = m.heap_before;
  results.memory_heap_after_bytes = m.heap_after;
  results.memory_heap_growth_bytes = m.heap_after - m.heap_before;
  results.memory_seconds = m.seconds;
}

results.targets = {
  verify_1k_vs_node_crypto_le_1: results.ratio_verify_1k_vs_node_crypto <= 1,
  verify_1k_vs_standardwebhooks_le_0_5: results.ratio_verify_1k_vs_standardwebhooks <= 0.5,
  wasm_le_64k: results.wasm_bytes <= 65536,
  cold_import_init_first_verify_le_5ms: results.cold_total_ms <= 5,
  cold_vs_noble_le_1: results.ratio_cold_vs_noble <= 1,
  verify_1k_values_vs_node_crypto_le_1: results.ratio_verify_1k_values_vs_node_crypto <= 1,
  sign_1k_values_vs_node_crypto_le_1: results.ratio_sign_1k_values_vs_node_crypto <= 1,
  memory_flat: results.memory_wasm_growth_bytes === 0,
};
// The issue's five figures, together (also present above under the same names).
results.keys = Object.fromEntries(
  [
    "ratio_verify_1k_values_vs_node_crypto",
    "ratio_sign_1k_values_vs_node_crypto",
    "ratio_verify_1k_json_vs_standardwebhooks",
    "ratio_cold_vs_noble",
    "ratio_cold_verifier_vs_noble",
    "wasm_bytes",
    "wasm_full_bytes",
  ].map((k) => [k, results[k]]),
);
results.machine = `${cpus()[0].model.trim()} (${cpus().length} cores), Node ${process.version}`;
results.loadavg_1m = [loadBefore, loadavg()[0]].map((x) => Math.round(x * 100) / 100).join(" → ");
results.quick = QUICK;
results.stat = STAT;

// ---------------------------------------------------------------------------------------------
// Table.
// ---------------------------------------------------------------------------------------------
const r = results;
const f = (us) => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(us < 10 ? 2 : 1)} µs`);
const x = (ratio) => (ratio === undefined ? "" : `${ratio.toFixed(2)}×`);
const out = [];
const row = (cells, widths) => out.push(cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  "));
out.push(`machine: ${r.machine}; load average (1 min) ${r.loadavg_1m}`);
out.push(`ratio = callsign ÷ peer on the same input form (< 1: callsign faster). µs/op: ${STAT} of ${ROUNDS} interleaved batches (~${BATCH_MS} ms each).`);
out.push(`text = signed args as JSON text (callsign verifyJson/signJson); values = Convex values (verify/sign).`);
for (const [label] of SIZES) {
  const W = [46, 11, 7, 11, 7];
  out.push("");
  out.push(`args ~${label}: ${r[`args_${label}_bytes`]} B Convex JSON (${r[`signed_args_${label}_bytes`]} B signed)`);
  for (const op of ["verify", "sign"]) {
    row([op, "text", "ratio", "values", "ratio"], W);
    row([`  callsign (wasm)`, f(r[`${op}_${label}_callsign_json_us`]), "", f(r[`${op}_${label}_callsign_values_us`]), ""], W);
    for (const [id, desc] of PEERS) {
      row(
        [`  ${desc}`, f(r[`${op}_${label}_${id}_json_us`]), x(r[`ratio_${op}_${label}_json_vs_${id}`]),
          f(r[`${op}_${label}_${id}_values_us`]), x(r[`ratio_${op}_${label}_values_vs_${id}`])],
        W,
      );
    }
    row([`  standardwebhooks ${op} (no canonicalization)`, f(r[`${op}_${label}_standardwebhooks_us`]), x(r[`ratio_${op}_${label}_json_vs_standardwebhooks`]), "", ""], W);
  }
  out.push(
    `  HMAC-SHA256 of the ${r[`message_${label}_bytes`]} B message alone: node:crypto ${f(r[`hmac_${label}_node_crypto_us`])}, ` +
      `@noble/hashes ${f(r[`hmac_${label}_noble_us`])}, WebCrypto ${f(r[`hmac_${label}_webcrypto_us`])}`,
  );
}
out.push("");
out.push("where 1 KB verify goes (µs/op):");
const s = (k) => f(r[`split_1k_${k}_us`]);
out.push(`  callsign verifyJson ${s("wrapper_verify_json")} = core verify ${s("core_verify")} (canonicalize alone ${s("core_canonicalize")}; at ~100 B: ${s("core_verify_100b")} / ${s("core_canonicalize_100b")}) + TextEncoder ${s("text_encode")} + wrapper`);
out.push(`  callsign verify (values) ${s("wrapper_verify_values")}: + convexToJson→JSON.stringify ${s("convex_to_json_stringify")} (prototype one-pass writer ${s("fast_json_prototype")}; verifyJson of its text ${s("wrapper_verify_json_of_fast_json")})`);
out.push(`  node:crypto peer: JSON.parse ${s("peer_json_parse")} + sorted stringify ${s("peer_sorted_stringify")} + HMAC ${s("peer_hmac_node_crypto")} (values: convexToJson + sorted stringify ${s("peer_sorted_stringify_of_values")})`);
out.push(`  SHA-256 throughput: wasm ${r.sha256_wasm_mb_s.toFixed(0)} MB/s, node:crypto ${r.sha256_node_crypto_mb_s.toFixed(0)} MB/s, @noble/hashes ${r.sha256_noble_mb_s.toFixed(0)} MB/s`);
out.push("");
out.push(`wasm module a Convex function loads (verifier only): ${r.wasm_bytes} B raw, ${r.wasm_gzip_bytes} B gzipped; the whole module (root entry): ${r.wasm_full_bytes} B, ${r.wasm_full_gzip_bytes} B gzipped; shipped as ${r.wasm_shipped_as}`);
out.push(`cold start (median of ${COLD_RUNS} fresh processes): import convex/values ${r.cold_convex_values_import_ms.toFixed(2)} ms (not ours); import callsign ${r.cold_import_ms.toFixed(2)} ms + init and first verify ${r.cold_init_first_verify_ms.toFixed(2)} ms = ${r.cold_total_ms.toFixed(2)} ms`);
out.push(`  verifier-only bundle (what convex-callsign/convex loads): import ${r.cold_verifier_import_ms.toFixed(2)} ms + init and first verify ${r.cold_verifier_init_first_verify_ms.toFixed(2)} ms = ${r.cold_verifier_total_ms.toFixed(2)} ms; ÷ peer ${x(r.ratio_cold_verifier_vs_noble)}`);
out.push(`  pure-JS peer (@noble/hashes + sorted stringify), same call: import ${r.cold_noble_import_ms.toFixed(2)} ms + setup and first verify ${r.cold_noble_first_verify_ms.toFixed(2)} ms = ${r.cold_noble_total_ms.toFixed(2)} ms; callsign ÷ peer ${x(r.ratio_cold_vs_noble)} (median of the pairs)`);
out.push(`  module phases: load glue + bytes ${r.cold_load_module_js_ms.toFixed(2)} ms, decode ${r.cold_decode_ms.toFixed(2)} ms, compile ${r.cold_compile_ms.toFixed(2)} ms, instantiate ${r.cold_instantiate_ms.toFixed(2)} ms`);
out.push(`memory: ${r.memory_verifications} verifications in ${r.memory_seconds.toFixed(1)} s: wasm memory ${r.memory_wasm_before_bytes} → ${r.memory_wasm_after_bytes} B (growth ${r.memory_wasm_growth_bytes} B, peak ${r.memory_wasm_peak_bytes} B); JS heap after GC ${r.memory_heap_before_bytes} → ${r.memory_heap_after_bytes} B (${r.memory_heap_growth_bytes >= 0 ? "+" : ""}${r.memory_heap_growth_bytes} B)`);
out.push("");
out.push("targets: " + Object.entries(r.targets).map(([k, v]) => `${k} ${v ? "met" : "NOT met"}`).join(", "));
console.log(out.join("\n"));
console.log(JSON.stringify(results));
