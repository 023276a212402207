/**
 * callsign inside Convex: functions that only run for calls signed by a holder of a key.
 *
 * One file, `convex/callsign.ts`, sets it up; every signed function then looks like a
 * Convex function:
 *
 * ```ts
 * // convex/callsign.ts
 * import { callsign } from "convex-callsign/convex";
 * import { query, mutation, action, internalMutation } from "./_generated/server";
 * import { internal } from "./_generated/api";
 *
 * export const { signedQuery, signedMutation, signedAction, recordNonce, cleanupNonces,
 *   runQuery, runMutation, runAction } = callsign(
 *   { query, mutation, action, internalMutation },
 *   { gateway: { mutations: [internal.admin.resetCounter] } },
 * );
 *
 * // convex/schema.ts: defineSchema({ ...callsignTables, messages: defineTable(...) })
 *
 * // convex/messages.ts
 * export const send = signedMutation({
 *   args: { body: v.string() },
 *   handler: async (ctx, { body }) => ctx.db.insert("messages", { body }),
 * });
 * ```
 *
 * A signed function verifies the envelope against its **own** name (from
 * `ctx.meta.getFunctionMetadata()`), this deployment (`CONVEX_CLOUD_URL`) and the key set in
 * `CALLSIGN_KEYS`, then strips the envelope before the handler sees the args. Failures throw
 * a `ConvexError` whose `data` is `{ code, message }` with callsign's stable codes, before
 * anything is written.
 *
 * @module
 */
import {
  defineTable,
  getFunctionName,
  makeFunctionReference,
  type ActionBuilder,
  type FunctionReference,
  type GenericActionCtx,
  type GenericDataModel,
  type GenericDatabaseWriter,
  type GenericMutationCtx,
  type GenericQueryCtx,
  type MutationBuilder,
  type QueryBuilder,
  type RegisteredAction,
  type RegisteredMutation,
  type RegisteredQuery,
} from "convex/server";
import {
  ConvexError,
  v,
  type GenericValidator,
  type ObjectType,
  type PropertyValidators,
  type Validator,
} from "convex/values";
import {
  CallsignError,
  DEFAULT_ENVELOPE_FIELD,
  Verifier,
  type Args,
  type Envelope,
  type Limits,
  type Verified,
  type Window,
} from "./index.js";
import type { ErrorCode } from "./errors.js";

// The replay store's tables are the app's, whatever its data model: typed loosely here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Db = GenericDatabaseWriter<any>;

// Convex functions see their environment variables (and CONVEX_CLOUD_URL) in process.env.
declare const process: { env: Record<string, string | undefined> };

/** The table of accepted (kid, nonce) pairs. */
export const NONCES_TABLE = "callsignNonces";
/**
 * The one-row table holding the replay store's watermark (the latest `ts` the cleanup has
 * dropped) and retention (the longest window among the nonces it has accepted).
 */
export const WATERMARK_TABLE = "callsignWatermark";

/**
 * The replay store's tables; spread them into the app's schema:
 * `defineSchema({ ...callsignTables, ...yourTables })`.
 *
 * They live in the app's own schema (not in a Convex component) so that a signed mutation
 * checks and records its nonce with plain `ctx.db` calls inside its own transaction: a
 * handler that throws rolls the nonce back with everything else, and two concurrent replays
 * conflict (OCC) so that only one commits.
 */
export const callsignTables = {
  [NONCES_TABLE]: defineTable({
    kid: v.string(),
    nonce: v.string(),
    /** When the call was signed (ms): the unit of the watermark (SPEC.md §8). */
    ts: v.number(),
    /** Until when (ms) the pair must be kept: the call's `ts` plus the window's `maxAgeMs`. */
    rememberUntil: v.number(),
  })
    .index("by_kid_nonce", ["kid", "nonce"])
    .index("by_ts", ["ts"]),
  [WATERMARK_TABLE]: defineTable({
    /** The latest `ts` among dropped nonces: calls signed at or before it are refused. */
    watermarkTs: v.union(v.number(), v.null()),
    /** The longest window (`rememberUntil - ts`) of any accepted nonce: how long nonces are kept. */
    retentionMs: v.number(),
  }),
};

/**
 * The envelope field's validator. Convex checks nothing here: the envelope is callsign's to
 * check, so that a missing or malformed one fails with the stable code `malformed` rather
 * than a generic validation error. Typed as a required envelope for callers.
 */
export const envelopeValidator = v.optional(v.any()) as unknown as Validator<Envelope, "required", string>;

/** How signed functions are set up. Every field has a default. */
export interface CallsignOptions {
  /**
   * The verifier's key set (SPEC.md §6.4). Default: the `CALLSIGN_KEYS` environment variable,
   * read on every call, so that `npx convex env set CALLSIGN_KEYS ...` takes effect at once.
   */
  keys?: () => string | undefined;
  /**
   * This deployment, as signers name it. Default: the built-in `CONVEX_CLOUD_URL` variable.
   * Set it when signers call through another URL (e.g. a custom domain).
   */
  audience?: () => string | undefined;
  /**
   * The accepted time window. Default ±60 s. A signed function may set its own (e.g. a
   * shorter one for a query, whose calls can be replayed while they are valid).
   */
  window?: Window;
  /** Limits on the signed args. Default 1 MiB, depth 63. */
  limits?: Limits;
  /**
   * The module (file under `convex/`, without extension) that exports `recordNonce` and
   * `cleanupNonces`, which actions and the cleanup call by name. Default `"callsign"`.
   */
  module?: string;
  /** How many nonces one cleanup run deletes before scheduling the next. Default 256. */
  cleanupBatch?: number;
  /**
   * Internal functions the gateway (`runQuery`, `runMutation`, `runAction`) may run, by kind.
   * Only these are reachable, and only with a valid signature over their own name and args.
   */
  gateway?: {
    queries?: FunctionReference<"query", "internal">[];
    mutations?: FunctionReference<"mutation", "internal">[];
    actions?: FunctionReference<"action", "internal">[];
  };
}

/** What a signed function's handler sees in `ctx.callsign`: the verified call. */
export type CallsignClaims = Omit<Verified, "canonicalArgs">;

/** What the replay store records of an accepted call (SPEC.md §8). */
export type NonceRecord = { kid: string; nonce: string; ts: number; rememberUntil: number };

type WithEnvelope<A> = A & { [DEFAULT_ENVELOPE_FIELD]: Envelope };

/** A signed function's definition: Convex's `{ args, returns, handler }` with object args. */
export interface SignedDefinition<Ctx, ArgsV extends PropertyValidators, Output> {
  /** Validators of the args, as in a Convex function (the envelope field is added). */
  args: ArgsV;
  /** Optional validator of the return value, as in a Convex function. */
  returns?: GenericValidator;
  /** This function's time window, instead of the one `callsign()` was given. */
  window?: Window;
  /** Runs after the call is verified (and, for mutations and actions, its nonce recorded). */
  handler: (ctx: Ctx & { callsign: CallsignClaims }, args: ObjectType<ArgsV>) => Output;
}

/** The builders `callsign()` wraps: pass the ones from `./_generated/server`. */
export interface CallsignBuilders<DataModel extends GenericDataModel> {
  /** `query` from `./_generated/server`. */
  query: QueryBuilder<DataModel, "public">;
  /** `mutation` from `./_generated/server`. */
  mutation: MutationBuilder<DataModel, "public">;
  /** `action` from `./_generated/server`. */
  action: ActionBuilder<DataModel, "public">;
  /** `internalMutation` from `./_generated/server` (for `recordNonce` and `cleanupNonces`). */
  internalMutation: MutationBuilder<DataModel, "internal">;
}

/** The args of the gateway functions: which internal function, its args, and the envelope. */
export type GatewayArgs = {
  function: string;
  args: Record<string, unknown>;
  [DEFAULT_ENVELOPE_FIELD]: Envelope;
};

/** Everything `callsign()` returns; export each from `convex/callsign.ts` under this name. */
export interface CallsignFunctions<DataModel extends GenericDataModel> {
  /**
   * A public query that runs only for signed calls. Queries cannot write, so they check the
   * signature and the time window but cannot reject replays: a captured call can be replayed
   * any number of times while `ts - maxFutureMs <= now <= ts + maxAgeMs`, up to two minutes
   * with the default window. Use it only where reading the same data twice is harmless, and
   * consider a shorter `window` for it.
   */
  signedQuery<ArgsV extends PropertyValidators, Output>(
    definition: SignedDefinition<GenericQueryCtx<DataModel>, ArgsV, Output>,
  ): RegisteredQuery<"public", WithEnvelope<ObjectType<ArgsV>>, Output>;
  /**
   * A public mutation that runs once per signed call: its nonce is checked and recorded in the
   * handler's own transaction, so a handler that throws leaves the nonce unused. The same call
   * can then be submitted again, by anyone who has seen it, until it expires: make handlers
   * that may fail idempotent (e.g. an idempotency key in the args).
   */
  signedMutation<ArgsV extends PropertyValidators, Output>(
    definition: SignedDefinition<GenericMutationCtx<DataModel>, ArgsV, Output>,
  ): RegisteredMutation<"public", WithEnvelope<ObjectType<ArgsV>>, Output>;
  /**
   * A public action that runs once per signed call. The nonce is recorded (by the internal
   * mutation `recordNonce`) before the handler runs; an action cannot roll back, so a handler
   * that fails has still used its nonce: the signer signs again with a new one.
   */
  signedAction<ArgsV extends PropertyValidators, Output>(
    definition: SignedDefinition<GenericActionCtx<DataModel>, ArgsV, Output>,
  ): RegisteredAction<"public", WithEnvelope<ObjectType<ArgsV>>, Output>;
  /** Internal mutation used by signed actions and the gateway action to record a nonce. */
  recordNonce: RegisteredMutation<"internal", NonceRecord, null>;
  /**
   * Internal mutation deleting nonces whose window has passed, a batch at a time (it schedules
   * itself again while more remain). Run it from a cron:
   * `crons.interval("callsign nonces", { minutes: 10 }, internal.callsign.cleanupNonces, {})`.
   */
  cleanupNonces: RegisteredMutation<"internal", Record<string, never>, { deleted: number; more: boolean }>;
  /** Gateway: runs an allowed internal query for a signed call (no replay check, as queries). */
  runQuery: RegisteredQuery<"public", GatewayArgs, Promise<unknown>>;
  /** Gateway: runs an allowed internal mutation for a signed call, in this transaction. */
  runMutation: RegisteredMutation<"public", GatewayArgs, Promise<unknown>>;
  /** Gateway: runs an allowed internal action for a signed call, after recording its nonce. */
  runAction: RegisteredAction<"public", GatewayArgs, Promise<unknown>>;
}

/**
 * Builds the signed-function wrappers, the replay store's functions and the gateway for one
 * app. Call it once, in `convex/callsign.ts`, and export every result under its own name.
 */
export function callsign<DataModel extends GenericDataModel>(
  builders: CallsignBuilders<DataModel>,
  options: CallsignOptions = {},
): CallsignFunctions<DataModel> {
  const field = DEFAULT_ENVELOPE_FIELD;
  const module = options.module ?? "callsign";
  const recordNonceRef = makeFunctionReference<"mutation">(`${module}:recordNonce`);
  const cleanupRef = makeFunctionReference<"mutation">(`${module}:cleanupNonces`);
  const batch = options.cleanupBatch ?? 256;
  if (!Number.isInteger(batch) || batch < 1 || batch > 4000) {
    throw new Error("callsign: cleanupBatch must be an integer from 1 to 4000");
  }
  const verifierFor = cachedVerifiers(options);
  const allowed = {
    query: allowList(options.gateway?.queries),
    mutation: allowList(options.gateway?.mutations),
    action: allowList(options.gateway?.actions),
  };

  /**
   * Verifies `signedArgs` as a call to `functionName` under `window` (the function's own, or
   * the default); Convex errors carry the code. What the caller must not learn (the kids held,
   * what is wrong with the configuration) goes to the deployment's log instead (SPEC.md §9).
   */
  function verify(functionName: string, signedArgs: Args, window?: Window): Verified {
    const verifier = verifierFor(window);
    try {
      return verifier.verify(functionName, signedArgs);
    } catch (e) {
      if (e instanceof CallsignError && e.code === "unknown_key") {
        console.warn(`callsign: ${e.code}: ${e.message}; this deployment holds ${verifier.kids.join(", ")}`);
      }
      throw asConvexError(e);
    }
  }

  async function ownName(ctx: { meta: { getFunctionMetadata(): Promise<{ name: string }> } }) {
    return (await ctx.meta.getFunctionMetadata()).name;
  }

  /** The gateway's signed args: the inner args plus the envelope, which they must not hold. */
  function gatewaySignedArgs(args: GatewayArgs): Args {
    const inner = args.args as unknown;
    if (inner === null || typeof inner !== "object" || Array.isArray(inner)) {
      throw rejection("malformed", "the gateway's `args` must be an object");
    }
    // The spread below copies own members only: refuse a prototype here (SPEC.md §2.5), as
    // verify refuses one on every value inside.
    const proto = Object.getPrototypeOf(inner);
    if (proto !== Object.prototype && proto !== null) {
      throw rejection("malformed", "the gateway's `args` have a prototype that is not the plain one (a \"__proto__\" member?)");
    }
    if (Object.prototype.hasOwnProperty.call(inner, field)) {
      throw rejection("malformed", `the gateway's \`args\` must not contain the field \`${field}\``);
    }
    return { ...(inner as Args), [field]: args[field] as unknown as Args[string] };
  }

  function checkAllowed(list: Set<string>, claims: Verified, kind: string): void {
    if (!list.has(claims.function)) {
      throw rejection("not_allowed", `${kind} \`${claims.function}\` is not on the gateway's allow-list`);
    }
  }

  const withoutEnvelope = <A>(args: Args): A => {
    const { [field]: _envelope, ...rest } = args;
    return rest as A;
  };
  const claimsOf = ({ canonicalArgs: _canonical, ...claims }: Verified): CallsignClaims => claims;

  const gatewayValidator = { function: v.string(), args: v.any(), [field]: envelopeValidator };

  /** The definition's validators plus the envelope field, which must not be one of them. */
  function withEnvelopeField(args: PropertyValidators): PropertyValidators {
    if (Object.prototype.hasOwnProperty.call(args, field)) {
      throw new Error(`callsign: \`${field}\` is the envelope's field; a signed function's args cannot use it`);
    }
    return { ...args, [field]: envelopeValidator };
  }

  // What each kind does once a call verifies: a query cannot write; a mutation records the
  // nonce in its own transaction; an action records it through recordNonce first.
  const noReplayCheck = async () => {};
  const inTransaction = async (ctx: { db: unknown }, claims: Verified) => claimNonce(ctx.db as Db, claims);
  const viaRecordNonce = async (ctx: GenericActionCtx<DataModel>, claims: Verified) => {
    await ctx.runMutation(recordNonceRef, nonceRecord(claims));
  };

  /** A signed function of one kind: verify against its own name, record the nonce, strip, run. */
  function signed<Ctx extends { meta: { getFunctionMetadata(): Promise<{ name: string }> } }>(
    builder: (definition: never) => unknown,
    record: (ctx: Ctx, claims: Verified) => Promise<void>,
  ) {
    return (definition: SignedDefinition<Ctx, PropertyValidators, unknown>) =>
      builder({
        args: withEnvelopeField(definition.args),
        returns: definition.returns,
        handler: async (ctx: Ctx, args: Args) => {
          const claims = verify(await ownName(ctx), args, definition.window);
          await record(ctx, claims);
          return definition.handler({ ...ctx, callsign: claimsOf(claims) }, withoutEnvelope(args));
        },
      } as never);
  }

  /**
   * A gateway function of one kind: verify against the named internal function, check this
   * kind's allow-list, record the nonce, then run the function with the args it was signed with.
   */
  function gateway<Ctx>(
    builder: (definition: never) => unknown,
    kind: "query" | "mutation" | "action",
    record: (ctx: Ctx, claims: Verified) => Promise<void>,
    run: (ctx: Ctx, name: string, args: Args) => Promise<unknown>,
  ) {
    return builder({
      args: gatewayValidator,
      handler: async (ctx: Ctx, args: GatewayArgs) => {
        const signedArgs = gatewaySignedArgs(args);
        const claims = verify(args.function, signedArgs);
        checkAllowed(allowed[kind], claims, kind);
        await record(ctx, claims);
        return await run(ctx, claims.function, withoutEnvelope(signedArgs));
      },
    } as never);
  }

  const functions = {
    signedQuery: signed<GenericQueryCtx<DataModel>>(builders.query as never, noReplayCheck),
    signedMutation: signed<GenericMutationCtx<DataModel>>(builders.mutation as never, inTransaction),
    signedAction: signed<GenericActionCtx<DataModel>>(builders.action as never, viaRecordNonce),

    recordNonce: builders.internalMutation({
      args: { kid: v.string(), nonce: v.string(), ts: v.number(), rememberUntil: v.number() },
      returns: v.null(),
      handler: async (ctx, record) => {
        await claimNonce(ctx.db as Db, record);
        return null;
      },
    }),

    cleanupNonces: builders.internalMutation({
      args: {},
      handler: async (ctx) => {
        const db = ctx.db as Db;
        const watermark = await readWatermark(db);
        if (watermark === null) return { deleted: 0, more: false }; // nothing accepted yet
        // SPEC.md §8: drop in ts order, and only nonces older than every window served, so
        // the watermark stays behind the calls that are still valid.
        const before = Date.now() - (watermark.retentionMs as number);
        const expired = await db
          .query(NONCES_TABLE)
          .withIndex("by_ts", (q) => q.lt("ts", before))
          .take(batch + 1);
        const doomed = expired.slice(0, batch);
        for (const row of doomed) await db.delete(row._id);
        if (doomed.length > 0) {
          // The index is ordered: the last deleted row has the latest ts.
          const latest = doomed[doomed.length - 1]!.ts as number;
          if (watermark.watermarkTs === null || (watermark.watermarkTs as number) < latest) {
            await db.patch(watermark._id, { watermarkTs: latest });
          }
        }
        const more = expired.length > batch;
        if (more) await ctx.scheduler.runAfter(0, cleanupRef, {});
        return { deleted: doomed.length, more };
      },
    }),

    runQuery: gateway<GenericQueryCtx<DataModel>>(builders.query as never, "query", noReplayCheck, (ctx, name, args) =>
      ctx.runQuery(makeFunctionReference<"query">(name), args),
    ),
    // A nested mutation runs in this transaction: if it throws, the nonce is not used.
    runMutation: gateway<GenericMutationCtx<DataModel>>(builders.mutation as never, "mutation", inTransaction, (ctx, name, args) =>
      ctx.runMutation(makeFunctionReference<"mutation">(name), args),
    ),
    runAction: gateway<GenericActionCtx<DataModel>>(builders.action as never, "action", viaRecordNonce, (ctx, name, args) =>
      ctx.runAction(makeFunctionReference<"action">(name), args),
    ),
  };
  return functions as unknown as CallsignFunctions<DataModel>;
}

/** The failure every signed function throws: a `ConvexError` carrying the stable code. */
export function rejection(code: ErrorCode, message: string): ConvexError<{ code: ErrorCode; message: string }> {
  return new ConvexError({ code, message });
}

function asConvexError(e: unknown): unknown {
  return e instanceof CallsignError ? rejection(e.code, e.message) : e;
}

function nonceRecord(claims: Verified): NonceRecord {
  return { kid: claims.kid, nonce: claims.nonce, ts: claims.ts, rememberUntil: claims.rememberUntil };
}

/**
 * Accepts (kid, nonce) once (SPEC.md §8): refuses a pair already recorded, or one the cleanup
 * may already have dropped (signed at or before the watermark, whatever the window), then
 * records it, and raises the retention if this call's window is the longest yet.
 */
async function claimNonce(db: Db, call: NonceRecord): Promise<void> {
  const watermark = await readWatermark(db);
  if (watermark !== null && watermark.watermarkTs !== null && call.ts <= (watermark.watermarkTs as number)) {
    throw rejection("replayed", "the call is older than what the replay store still remembers: it may already have been used");
  }
  const seen = await db
    .query(NONCES_TABLE)
    .withIndex("by_kid_nonce", (q: any) => q.eq("kid", call.kid).eq("nonce", call.nonce))
    .first();
  if (seen !== null) {
    throw rejection("replayed", `the call with nonce ${call.nonce} (key ${call.kid}) was already accepted`);
  }
  await db.insert(NONCES_TABLE, { kid: call.kid, nonce: call.nonce, ts: call.ts, rememberUntil: call.rememberUntil });
  const window = call.rememberUntil - call.ts;
  if (watermark === null) {
    await db.insert(WATERMARK_TABLE, { watermarkTs: null, retentionMs: window });
  } else if ((watermark.retentionMs as number) < window) {
    await db.patch(watermark._id, { retentionMs: window });
  }
}

async function readWatermark(db: Db) {
  return await db.query(WATERMARK_TABLE).first();
}

function allowList(refs: FunctionReference<any, "internal">[] | undefined): Set<string> {
  const names = new Set<string>();
  for (const ref of refs ?? []) {
    const name = getFunctionName(ref);
    // References (`internal.file.fn`) always name `module:export`; a bare string would need
    // the core's normalization (SPEC.md §3.3) to compare, so it is refused.
    if (typeof ref === "string" || !name.includes(":")) {
      throw new Error(`callsign: gateway entries must be references like internal.file.fn, not ${JSON.stringify(name)}`);
    }
    names.add(name);
  }
  return names;
}

/**
 * Verifiers built once per isolate, one per window in use, all rebuilt when the keys or the
 * audience change (key rotation with `npx convex env set` takes effect on the next call).
 *
 * A configuration that does not build is the operator's error, not the caller's (SPEC.md §7):
 * the detail (already free of key material) goes to the deployment's log, and the caller gets
 * `misconfigured` with a message that says nothing about the configuration.
 */
function cachedVerifiers(options: CallsignOptions): (window?: Window) => Verifier {
  const keysOf = options.keys ?? (() => process.env.CALLSIGN_KEYS);
  const audienceOf = options.audience ?? (() => process.env.CONVEX_CLOUD_URL);
  let built: { keys: string | undefined; audience: string | undefined; byWindow: Map<string, Verifier> } | undefined;
  return (window = options.window) => {
    const keys = keysOf();
    const audience = audienceOf();
    if (built === undefined || built.keys !== keys || built.audience !== audience) {
      for (const verifier of built?.byWindow.values() ?? []) verifier.free();
      built = { keys, audience, byWindow: new Map() };
    }
    const id = `${window?.maxAgeMs ?? ""}/${window?.maxFutureMs ?? ""}`;
    let verifier = built.byWindow.get(id);
    if (verifier === undefined) {
      try {
        verifier = new Verifier(keys as string, { audience: audience as string, window, limits: options.limits });
      } catch (e) {
        if (!(e instanceof CallsignError)) throw e;
        console.error(`callsign: this deployment's configuration is invalid (CALLSIGN_KEYS or its audience): ${e.code}: ${e.message}`);
        throw rejection("misconfigured", "callsign is not set up correctly on this deployment; its logs say why");
      }
      built.byWindow.set(id, verifier);
    }
    return verifier;
  };
}

export type { Envelope, Verified } from "./index.js";
