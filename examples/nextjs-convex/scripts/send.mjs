// Any Node server: post a message, read the list, and flip the board's setting through the
// gateway (an internal function, reachable only with a signature).
//   CONVEX_URL=https://<deployment>.convex.cloud CALLSIGN_KEY=csk1_... node scripts/send.mjs "hello"
import { SignedConvexHttpClient } from "convex-callsign/client";
import { api, internal } from "../convex/_generated/api.js";

const url = process.env.CONVEX_URL;
if (!url) throw new Error("set CONVEX_URL to the deployment URL (https://<name>.convex.cloud)");
const client = new SignedConvexHttpClient(url, process.env.CALLSIGN_KEY);

const id = await client.mutation(api.messages.send, { body: process.argv[2] ?? "hello", author: "node" });
console.log("posted", id);
console.log("latest", await client.query(api.messages.list, { limit: 5 }));
console.log("open:", await client.runMutation(internal.admin.setOpen, { open: true }));
console.log("stats", await client.runQuery(internal.admin.stats, {}));
