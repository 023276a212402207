// POST /api/messages {"body": "..."}: another service asks this server to post a message.
// (Authenticate *that* caller as your app requires; callsign authenticates this server to Convex.)
import { fetchMutation } from "convex/nextjs";
import { ConvexError } from "convex/values";
import { api } from "@/convex/_generated/api";
import { callsign } from "@/lib/callsign";

export async function POST(request: Request): Promise<Response> {
  const { body } = (await request.json()) as { body?: unknown };
  if (typeof body !== "string") return Response.json({ error: "body must be a string" }, { status: 400 });
  try {
    const id = await fetchMutation(...callsign().signed(api.messages.send, { body, author: "api" }));
    return Response.json({ id });
  } catch (e) {
    // Rejections carry callsign's stable code, e.g. {"code": "expired"} when this server's clock is off.
    if (e instanceof ConvexError) return Response.json(e.data, { status: 502 });
    throw e;
  }
}
