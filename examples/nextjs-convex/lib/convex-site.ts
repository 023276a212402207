// Server-only: calls the deployment's signed HTTP actions (convex/http.ts) with signedFetch.
// The key is CALLSIGN_KEY, the root key this server also signs function calls with (a root key
// signs for any audience: here the site origin, whose derived key the deployment holds in
// CALLSIGN_SITE_KEYS); the site is CONVEX_SITE_URL (https://<deployment>.convex.site).
import "server-only";
import { signedFetch } from "convex-callsign/client";

/** Posts a message through POST /api/messages on the deployment's site; returns its id. */
export async function postThroughHttpAction(
  message: { body: string; author: string },
  site = process.env.CONVEX_SITE_URL,
): Promise<string> {
  if (site === undefined) throw new Error("CONVEX_SITE_URL is not set (https://<deployment>.convex.site)");
  const response = await signedFetch(`${site}/api/messages`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(message),
  });
  const answer = (await response.json()) as { id?: string; code?: string; message?: string };
  if (!response.ok || typeof answer.id !== "string") {
    // {code, message} with callsign's stable code, e.g. "expired" when this server's clock is off.
    throw new Error(`the HTTP action refused the request: ${response.status} ${answer.code}: ${answer.message}`);
  }
  return answer.id;
}
