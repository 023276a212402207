// Compile-time checks of convex-callsign/convex's types (tsc --noEmit -p test/tsconfig.json); not run.
import {
  type ApiFromModules,
  defineSchema,
  defineTable,
  type DataModelFromSchemaDefinition,
  type FunctionArgs,
  type FunctionReturnType,
  type MutationBuilder,
  type QueryBuilder,
  type ActionBuilder,
} from "convex/server";
import { v } from "convex/values";
import { customCtx, customMutation, customQuery } from "convex-helpers/server/customFunctions";
import { zCustomMutation } from "convex-helpers/server/zod4";
import { z } from "zod/v4";
import { Callsign, claimsOf, type CallsignClaims, type CallsignComponent } from "convex-callsign/convex";
import type { Envelope } from "convex-callsign";

const schema = defineSchema({ messages: defineTable({ body: v.string(), kid: v.string() }) });
type DataModel = DataModelFromSchemaDefinition<typeof schema>;
declare const query: QueryBuilder<DataModel, "public">;
declare const mutation: MutationBuilder<DataModel, "public">;
declare const action: ActionBuilder<DataModel, "public">;
declare const internalMutation: MutationBuilder<DataModel, "internal">;
declare const component: CallsignComponent;

const cs = new Callsign(component);
const signedMutation = cs.signed(mutation);
const signedQuery = cs.signed(query);
const signedAction = cs.signed(action);

export const send = signedMutation({
  args: { body: v.string() },
  handler: async (ctx, { body }) => {
    const kid: string = ctx.callsign.kid;
    return await ctx.db.insert("messages", { body, kid });
  },
});
type SendArgs = FunctionArgs<Api["m"]["send"]>;
const sendArgs: SendArgs = { body: "x", _callsign: {} as Envelope };
// @ts-expect-error the envelope is part of the registered function's args
const noEnvelope: SendArgs = { body: "x" };

export const list = signedQuery({
  args: v.object({ limit: v.optional(v.number()) }),
  window: { maxAgeMs: 10_000 },
  handler: async (ctx, { limit }) => (await ctx.db.query("messages").take(limit ?? 10)).map((m) => m.body),
});
const listed: string[] = null as unknown as FunctionReturnType<Api["m"]["list"]>;

export const none = signedAction({ handler: async (ctx) => ctx.callsign.nonce });
const noneArgs: FunctionArgs<Api["m"]["none"]> = { _callsign: {} as Envelope };
export const bare = signedMutation(async (ctx) => ctx.callsign.ts);
export const anything = signedMutation({ args: v.any(), handler: async (_ctx, args) => args.whatever });

signedMutation({
  args: { body: v.string() },
  // @ts-expect-error the handler's args are the declared ones
  handler: async (_ctx, { nope }: { nope: number }) => nope,
});

// @ts-expect-error signed functions are public: internal ones are reached through the gateway
cs.signed(internalMutation);

// convex-helpers around a signed builder: the customization's ctx has the claims at run time.
const withCaller = customMutation(
  signedMutation,
  customCtx(async (ctx) => ({ caller: claimsOf(ctx).kid })),
);
export const composed = withCaller({
  args: { body: v.string() },
  handler: async (ctx, { body }) => {
    const caller: string = ctx.caller;
    return await ctx.db.insert("messages", { body, kid: caller });
  },
});
const composedArgs: FunctionArgs<Api["m"]["composed"]> = { body: "b" };

// A customized builder inside: its ctx and the claims both.
const customized = cs.signed(customQuery(query, customCtx(async () => ({ tenant: "t1" }))));
export const tenant = customized({
  args: {},
  handler: async (ctx) => {
    const t: string = ctx.tenant;
    const claims: CallsignClaims = ctx.callsign;
    return `${t}/${claims.kid}`;
  },
});
const tenantOut: string = null as unknown as FunctionReturnType<Api["m"]["tenant"]>;

// zod
const zm = zCustomMutation(signedMutation, customCtx(async (ctx) => ({ claims: claimsOf(ctx) })));
export const zodded = zm({
  args: { n: z.number().min(1) },
  handler: async (ctx, { n }) => n + ctx.claims.ts,
});

// What the app's generated `api` makes of these functions.
type Api = ApiFromModules<{
  m: { send: typeof send; list: typeof list; none: typeof none; composed: typeof composed; tenant: typeof tenant };
}>;

export { sendArgs, noEnvelope, listed, noneArgs, composedArgs, tenantOut };
