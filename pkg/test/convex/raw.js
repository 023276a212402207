// Delivers args to a registered function exactly as a deployment does: the HTTP API's JSON
// text, through `jsonToConvex(JSON.parse(text))` inside convex/server's invoke functions.
// convex-test cannot: it serializes args with convexToJson first, which drops what a
// `"__proto__"` member becomes. The inner function runs in this function's transaction and
// reads this function's name from ctx.meta, so calls delivered here are signed for it.
import { v } from "convex/values";
import { action, mutation, query } from "./_generated/server.js";

const target = { module: v.string(), name: v.string(), text: v.string() };
const load = async (module, name) => (await import(`./${module}.js`))[name];

export const deliverMutation = mutation({
  args: target,
  handler: async (_ctx, { module, name, text }) =>
    JSON.parse(await (await load(module, name)).invokeMutation(`[${text}]`)),
});

export const deliverQuery = query({
  args: target,
  handler: async (_ctx, { module, name, text }) =>
    JSON.parse(await (await load(module, name)).invokeQuery(`[${text}]`)),
});

export const deliverAction = action({
  args: target,
  handler: async (_ctx, { module, name, text }) =>
    JSON.parse(await (await load(module, name)).invokeAction("raw-request", `[${text}]`)),
});
