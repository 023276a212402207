// The app's HTTP actions, at https://<deployment>.convex.site. POST /api/messages is signed:
// a server holding a key calls it with signedFetch (convex-callsign/client; lib/convex-site.ts
// in this app), for these exact method, path, query and body bytes, once.
//
// cs.httpAction verifies before the handler runs: with the site origin (CONVEX_SITE_URL) and
// the keys derived for it (CALLSIGN_SITE_KEYS: `callsign derive --audience <CONVEX_SITE_URL>`,
// not the .convex.cloud keys of CALLSIGN_KEYS); the body's size before it is hashed; then the
// nonce is claimed in the component. Refusals are JSON {code, message}: 401, 413 too_large,
// 500 misconfigured.
import { httpRouter } from "convex/server";
import { ConvexError } from "convex/values";
import { internal } from "./_generated/api";
import { cs } from "./callsign";

const http = httpRouter();

http.route({
  path: "/api/messages",
  method: "POST",
  handler: cs.httpAction(
    async (ctx, _request, { claims, body }) => {
      // Headers other than Content-Digest are not signed: the body is JSON whatever
      // Content-Type says.
      let message: { body?: unknown; author?: unknown };
      try {
        message = JSON.parse(new TextDecoder().decode(body));
      } catch {
        return Response.json({ code: "bad_request", message: "the body is not JSON" }, { status: 400 });
      }
      if (typeof message?.body !== "string" || typeof message.author !== "string") {
        return Response.json({ code: "bad_request", message: "expected {body: string, author: string}" }, { status: 400 });
      }
      try {
        const id = await ctx.runMutation(internal.messages.postSigned, {
          body: message.body,
          author: message.author,
          kid: claims.kid,
        });
        return Response.json({ id });
      } catch (e) {
        // The board is closed: the nonce is used (an action cannot roll back); sign a new request.
        if (e instanceof ConvexError) return Response.json(e.data, { status: 409 });
        throw e;
      }
    },
    { maxBodyBytes: 64 * 1024 },
  ),
});

export default http;
