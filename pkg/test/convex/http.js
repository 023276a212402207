// Signed HTTP actions (cs.httpAction), as an app's convex/http.ts routes them. Each handler
// records that it ran (httplog.js) and echoes what it was given.
import { httpRouter } from "convex/server";
import { internal } from "./_generated/api.js";
import { cs } from "./callsign.js";

/** The handler of every route: records the body, answers the claims and the body. */
export async function echo(ctx, request, { claims, body }) {
  const text = new TextDecoder().decode(body);
  await ctx.runMutation(internal.httplog.record, { body: text });
  return Response.json({ claims, body: text, bodyUsed: request.bodyUsed });
}

const http = httpRouter();
const signed = cs.httpAction(echo);
for (const method of ["POST", "PUT", "GET", "DELETE"]) {
  http.route({ path: "/api/echo", method, handler: signed });
}
http.route({ path: "/api/other", method: "POST", handler: signed });
http.route({ path: "/api/exact", method: "POST", handler: signed });
http.route({ pathPrefix: "/hooks/", method: "POST", handler: signed });
http.route({ path: "/api/small", method: "POST", handler: cs.httpAction(echo, { maxBodyBytes: 16 }) });
http.route({ path: "/api/short", method: "POST", handler: cs.httpAction(echo, { window: { maxAgeMs: 5_000, maxFutureMs: 0 } }) });

export default http;
