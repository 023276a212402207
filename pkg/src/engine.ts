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

let memory: WebAssembly.Memory | undefined;
const encoder = new TextEncoder();

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
  if (memory === undefined) {
    memory = core.initSync({ module: decodeBase64(WASM_BASE64) }).memory;
  }
  try {
    return f(core);
  } catch (thrown) {
    throw fromCore(thrown);
  }
}

/**
 * Writes `text` as UTF-8 into the core's input buffer, straight into wasm memory (no copy of
 * the bytes in JS, no allocation per call), and returns its length in bytes, for the core's
 * `…Input` functions. Only inside {@link withCore}. Callers have ruled out lone surrogates
 * (which `encodeInto` would replace).
 * @internal
 */
export function input(text: string): number {
  const n = text.length;
  // One byte per UTF-16 unit first (ASCII, the usual case), then room for the rest: at most
  // three bytes per unit. The core keeps the buffer's bytes when it grows it.
  let ptr = core.inputBuffer(n);
  let { read, written } = encoder.encodeInto(text, new Uint8Array(memory!.buffer, ptr, n));
  if (read < n) {
    const size = written + 3 * (n - read);
    ptr = core.inputBuffer(size);
    const view = new Uint8Array(memory!.buffer, ptr + written, size - written);
    written += encoder.encodeInto(text.slice(read), view).written;
  }
  return written;
}
