// tests/http.test.ts: the app behind a loopback stand-in for Convex's HTTP API, called by a
// real client, as a server would call the deployment.
import { convexTest } from "convex-test";
import { generateKey, isCallsignError } from "convex-callsign";
import { SignedConvexHttpClient } from "convex-callsign/client";
import { register, serveConvex } from "convex-callsign/test";
import { expect, test } from "vitest";
import { api, internal } from "../convex/_generated/api";
import schema from "../convex/schema";

const modules = import.meta.glob("../convex/**/*.*s");

test("SignedConvexHttpClient over HTTP: accepted once, the gateway, a stranger refused", async () => {
  const t = convexTest(schema, modules);
  register(t);
  const deployment = await serveConvex({ t, modules });
  try {
    const key = generateKey("server");
    process.env.CONVEX_CLOUD_URL = deployment.url; // the audience is the URL the client calls
    process.env.CALLSIGN_KEYS = key;
    const client = new SignedConvexHttpClient(deployment.url, key);
    await client.mutation(api.messages.send, { body: "over http" });
    expect(await client.query(api.messages.list, {})).toEqual(["over http"]);
    expect(await client.runMutation(internal.admin.setOpen, { open: false })).toBe(false);

    const stranger = new SignedConvexHttpClient(deployment.url, generateKey("stranger"));
    const refused = await stranger.mutation(api.messages.send, { body: "no" }).catch((e) => e);
    expect(isCallsignError(refused) && refused.data.code).toBe("unknown_key");
  } finally {
    await deployment.close();
  }
});
