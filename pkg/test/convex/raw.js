// Delivers args to a registered function exactly as a deployment does: the HTTP API's JSON
// text, through `jsonToConvex(JSON.parse(text))` inside convex/server's invoke functions.
// convex-test cannot: it serializes args with convexToJson first, which drops what a
// `"__proto__"` member becomes. The inner function runs in this function's transaction and
// reads this function's name from ctx.meta, so calls delivered here are signed for it.
import { ConvexError, jsonToConvex, v } from "convex/values";
import { action, mutation, query } from "./_generated/server.js";

const target = { module: v.string(), name: v.string(), text: v.string() };
const load = async (module, name) => (await import(`./${module}.js`))[name];

/**
 * The inner function's result; its ConvexError rethrown with the data as a value again (the
 * invoke function serialized it to JSON text, as a deployment does on the wire).
 */
async function unwrap(invoke) {
  try {
    return JSON.parse(await invoke());
  } catch (e) {
    if (e instanceof ConvexError && typeof e.data === "string") throw new ConvexError(jsonToConvex(JSON.parse(e.data)));
    throw e;
  }
}

export const deliverMutation = mutation({
  args: target,
  handler: async (_ctx, { module, name, text }) =>
    unwrap(async () => (await load(module, name)).invokeMutation(`[${text}]`)),
});

export const deliverQuery = query({
  args: target,
  handler: async (_ctx, { module, name, text }) =>
    unwrap(async () => (await load(module, name)).invokeQuery(`[${text}]`)),
});

// An action's invokeAction would build a ctx whose runMutation goes through the
// "1.0/actions/mutation" syscall, which convex-test implements for function names only, not
// for component references (a deployment's takes both): the signed action could not claim its
// nonce. So the action is delivered by hand: the same parse invokeAction does, then the
// registered handler with this action's ctx (convex-test's, which reaches components).
export const deliverAction = action({
  args: target,
  handler: async (ctx, { module, name, text }) => {
    const [args] = jsonToConvex(JSON.parse(`[${text}]`));
    return await (await load(module, name))._handler(ctx, args);
  },
});
