/**
 * Reading a request body under a size limit: shared by `verifyRequest` (convex-callsign/client)
 * and `cs.httpAction` (convex-callsign/convex). Internal: not a subpath of the package.
 *
 * @module
 */
import { CallsignError } from "./index.js";

/**
 * The body's bytes, read once. More than `max` bytes is `too_large`: refused from a
 * `Content-Length` that says so before anything is read, and otherwise as soon as the stream
 * passes the limit (the rest is not read). Nothing here hashes the body.
 */
export async function readBody(request: Request, max: number): Promise<Uint8Array> {
  const tooLarge = (what: string) =>
    new CallsignError("too_large", `the body has ${what} bytes, over the limit of ${max} bytes`);
  const declared = request.headers.get("content-length");
  if (declared !== null && /^[0-9]{1,16}$/.test(declared) && Number(declared) > max) throw tooLarge(declared);
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge(`more than ${max}`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
