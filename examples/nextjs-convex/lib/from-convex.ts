// Server-only: verifies requests signed by this app's Convex deployment (convex/outbound.ts)
// with verifyRequest: the keys in CALLSIGN_APP_KEYS (derived for this server's origin), the
// origin in APP_ORIGIN (this server's own, never the request's Host), the replay store of
// lib/nonce-store.ts.
import "server-only";
import { CallsignError, RequestVerifier, type ErrorCode } from "convex-callsign";
import { verifyRequest, type VerifiedHttpRequest } from "convex-callsign/client";
import { nonceStore } from "./nonce-store";

const STATUS: Partial<Record<ErrorCode, number>> = { too_large: 413, misconfigured: 500, unavailable: 503 };

/** A refusal as the Convex side answers one: JSON {code, message}, 401 unless said otherwise. */
export function refusal(code: ErrorCode, message: string): Response {
  return Response.json({ code, message }, { status: STATUS[code] ?? 401, headers: { "Cache-Control": "no-store" } });
}

let checked: string | undefined;

/** This server's setup, checked once per value: its errors are the operator's, not the caller's. */
function settings(): { keys: string; audience: string } {
  const keys = process.env.CALLSIGN_APP_KEYS;
  const audience = process.env.APP_ORIGIN;
  const id = JSON.stringify([keys, audience]);
  if (checked !== id) {
    try {
      if (keys === undefined || audience === undefined) throw new Error("CALLSIGN_APP_KEYS and APP_ORIGIN must be set");
      new RequestVerifier(keys, { audience }).free();
    } catch (e) {
      console.error(`callsign: this server's setup is invalid: ${(e as Error).message}`);
      throw new CallsignError("misconfigured", "this server is not set up to verify signed requests; its logs say why");
    }
    checked = id;
  }
  return { keys: keys!, audience: audience! };
}

/**
 * The verified request (claims and body bytes), or the refusal to answer with. Each request is
 * accepted once: its nonce is recorded before this returns.
 */
export async function fromConvex(request: Request, maxBodyBytes = 64 * 1024): Promise<VerifiedHttpRequest | Response> {
  try {
    const { keys, audience } = settings();
    return await verifyRequest(request, { keys, audience, store: await nonceStore(), maxBodyBytes });
  } catch (e) {
    if (e instanceof CallsignError) return refusal(e.code, e.message);
    throw e;
  }
}
