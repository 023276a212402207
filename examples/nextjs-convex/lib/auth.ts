// Who may make this server sign. callsign proves to Convex that *this server* made a call;
// it cannot know who asked this server to make it. A route handler or server action that
// signs for whoever reaches it is an open signing relay: it lends the server's key to
// everyone on the internet. Every entry point that signs checks its caller first.
import { timingSafeEqual } from "node:crypto";

/**
 * For route handlers called by another service: `Authorization: Bearer <MESSAGES_API_TOKEN>`.
 * Fails closed: with no token configured, nobody is allowed.
 */
export function callerAllowed(authorization: string | null, token = process.env.MESSAGES_API_TOKEN): boolean {
  if (token === undefined || token.length < 32) return false;
  const given = Buffer.from(authorization?.startsWith("Bearer ") ? authorization.slice(7) : "");
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * For server actions, which any visitor of the page can invoke. Replace this with your auth
 * provider's session check, e.g. `(await auth()).userId !== null` with Clerk or
 * `(await auth())?.user !== undefined` with Auth.js. This example has no users, so posting
 * from the page is off unless ALLOW_ANONYMOUS_POSTS=1 (for trying it locally).
 */
export async function visitorAllowed(): Promise<boolean> {
  return process.env.ALLOW_ANONYMOUS_POSTS === "1";
}
