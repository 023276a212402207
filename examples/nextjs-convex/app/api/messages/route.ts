// POST /api/messages {"body": "..."}: another service asks this server to post a message.
// callsign authenticates this server to Convex; this handler must authenticate *its* caller,
// or it signs for anyone who can reach it (an open signing relay, see lib/auth.ts).
import { fetchMutation } from "convex/nextjs";
import { ConvexError } from "convex/values";
import { api } from "@/convex/_generated/api";
import { callerAllowed } from "@/lib/auth";
import { callsign } from "@/lib/callsign";

export async function POST(request: Request): Promise<Response> {
  if (!callerAllowed(request.headers.get("authorization"))) {
    return Response.json({ error: "unauthorized" }, { status: 401 });
  }
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
