// The wasm module, instantiated synchronously on first use.
//
// The bytes are inlined (base64) rather than fetched or imported as a .wasm file: that
// is the one form Node, Deno, edge runtimes and the Convex bundler all load with no
// configuration and no file-system or network access. Instantiating on first use, not at
// import, keeps importing free for code paths that never sign or verify; it draws no
// randomness either way (Convex fixes randomness at import time).
import * as core from "./wasm/callsign_wasm.js";
import WASM_BASE64 from "./wasm/bytes.js";
import { fromCore } from "./errors.js";

export type Core = typeof core;

let ready = false;

function decodeBase64(text: string): Uint8Array {
  const fromBase64 = (Uint8Array as unknown as { fromBase64?: (s: string) => Uint8Array })
    .fromBase64;
  if (typeof fromBase64 === "function") return fromBase64(text);
  const NodeBuffer = (globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } })
    .Buffer;
  if (NodeBuffer !== undefined) return NodeBuffer.from(text, "base64");
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Runs `f` against the instantiated core, turning its errors into `CallsignError`s.
 * @internal
 */
export function withCore<T>(f: (c: Core) => T): T {
  if (!ready) {
    core.initSync({ module: decodeBase64(WASM_BASE64) });
    ready = true;
  }
  try {
    return f(core);
  } catch (thrown) {
    throw fromCore(thrown);
  }
}
