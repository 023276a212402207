// POST /api/convex-events: events from this app's Convex deployment (convex/outbound.ts),
// signed with signedFetch. Only the deployment holds a key for this origin, so a verified
// request came from it, with these exact bytes, and is accepted once (RedisNonceStore across
// every instance of this server; see lib/nonce-store.ts).
import { fromConvex } from "@/lib/from-convex";

// node-redis needs Node's sockets.
export const runtime = "nodejs";

export async function POST(request: Request): Promise<Response> {
  const verified = await fromConvex(request);
  if (verified instanceof Response) return verified;
  const { event, data } = JSON.parse(new TextDecoder().decode(verified.body)) as { event: string; data: unknown };
  // Handle the event here. It is signed, not secret: don't put in it what the path must hide.
  console.log(`event ${event} from the deployment (key ${verified.kid}):`, data);
  return Response.json({ ok: true, event, kid: verified.kid });
}
