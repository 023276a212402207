/**
 * callsign inside Convex: functions that run only for calls signed by a holder of a key.
 *
 * The replay store is a Convex component (`convex-callsign/convex.config`); verification
 * stays in the app, which alone can read its key set (`CALLSIGN_KEYS`):
 *
 * ```ts
 * // convex/convex.config.ts
 * import { defineApp } from "convex/server";
 * import callsign from "convex-callsign/convex.config";
 * const app = defineApp();
 * app.use(callsign);
 * export default app;
 *
 * // convex/callsign.ts
 * import { Callsign } from "convex-callsign/convex";
 * import { components, internal } from "./_generated/api";
 * import { action, mutation, query } from "./_generated/server";
 *
 * const cs = new Callsign(components.callsign);
 * export const signedQuery = cs.signed(query);
 * export const signedMutation = cs.signed(mutation);
 * export const signedAction = cs.signed(action);
 * export const { runQuery, runMutation, runAction } = cs.gateway(
 *   { query, mutation, action },
 *   { mutations: [internal.admin.resetCounter] },
 * );
 *
 * // convex/messages.ts
 * export const send = signedMutation({
 *   args: { body: v.string() },
 *   handler: async (ctx, { body }) => ctx.db.insert("messages", { body, kid: ctx.callsign.kid }),
 * });
 * ```
 *
 * A signed function verifies the envelope against its **own** name (from
 * `ctx.meta.getFunctionMetadata()`), this deployment (`CONVEX_CLOUD_URL`) and the key set in
 * `CALLSIGN_KEYS`, strips the envelope before the handler sees the args, and claims the nonce
 * in the component. Failures throw a `ConvexError` whose `data` is `{ code, message }` with
 * callsign's stable codes ({@link isCallsignError}), before the handler runs.
 *
 * @module
 */
import {
  getFunctionName,
  makeFunctionReference,
  type ActionBuilder,
  type ArgsArrayForOptionalValidator,
  type ArgsArrayToObject,
  type DefaultArgsForOptionalValidator,
  type FunctionReference,
  type FunctionVisibility,
  type GenericActionCtx,
  type GenericDataModel,
  type GenericMutationCtx,
  type GenericQueryCtx,
  type MutationBuilder,
  type QueryBuilder,
  type RegisteredAction,
  type RegisteredMutation,
  type RegisteredQuery,
  type ReturnValueForOptionalValidator,
} from "convex/server";
import {
  ConvexError,
  v,
  type GenericValidator,
  type PropertyValidators,
  type VAny,
  type Validator,
  type VObject,
} from "convex/values";
import type { ComponentApi } from "./component/_generated/component.js";
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
import type { CallsignErrorData, ErrorCode } from "./errors.js";

// Convex functions see their environment variables (and CONVEX_CLOUD_URL) in process.env.
declare const process: { env: Record<string, string | undefined> };

const FIELD = DEFAULT_ENVELOPE_FIELD;

/**
 * The installed component, as the app's generated `components.callsign` is typed (its
 * `ComponentApi`, from `convex-callsign/_generated/component.js`).
 */
export type CallsignComponent = ComponentApi;

/**
 * A function a scoped key may call: a reference (`api.reports.summary`,
 * `internal.admin.stats` for the gateway), a canonical name (`"reports:summary"`), or every
 * export of one module (`"reports:*"`).
 */
export type ScopeEntry = FunctionReference<"query" | "mutation" | "action", FunctionVisibility> | `${string}:${string}`;

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
   * Keys that may call only some functions, by kid: `{ reporting: [api.reports.summary] }`. A
   * call signed with a listed kid for any other function (signed, or internal through the
   * gateway) is refused as `not_allowed`, after its signature has been checked. Kids not
   * listed may call every signed function and everything on the gateway's allow-lists.
   */
  scopes?: Record<string, ScopeEntry[]>;
}

/** What a signed function's handler sees in `ctx.callsign`: the verified call. */
export type CallsignClaims = Omit<Verified, "canonicalArgs">;

/** A signed function's ctx: the builder's, plus the verified call in `callsign`. */
export type SignedCtx<Ctx> = Ctx & { callsign: CallsignClaims };

/**
 * `A` plus the envelope field: what the registered function takes, so that a caller's
 * `CallSigner.signed(ref, args)` is typed by the function. (No args at all is Convex's
 * `Record<string, never>`, which cannot be intersected with a field.)
 */
export type WithEnvelope<A> = string extends keyof A
  ? [A[string]] extends [never]
    ? { [FIELD]: Envelope }
    : A & { [FIELD]: Envelope }
  : A & { [FIELD]: Envelope };

type Kind = "query" | "mutation" | "action";

/** The registered function of a kind, as Convex's own builders type it. */
export type Registered<K extends Kind, Visibility extends FunctionVisibility, A extends Args | Record<string, unknown>, Output> = {
  query: RegisteredQuery<Visibility, A, Output>;
  mutation: RegisteredMutation<Visibility, A, Output>;
  action: RegisteredAction<Visibility, A, Output>;
}[K];

/** The args a signed function may declare: what Convex can deploy (an object, or any). */
type SignedArgsValidator = PropertyValidators | VObject<any, any, "required"> | VAny<any, "required"> | void;

/**
 * A builder of signed functions, made by {@link Callsign.signed}: it takes what Convex's
 * builders take (`{ args?, returns?, handler }`, or a bare handler) plus an optional `window`
 * for this function, and its handler's ctx has `callsign`.
 */
export type SignedBuilder<K extends Kind, Visibility extends FunctionVisibility, Ctx> = {
  <
    ArgsValidator extends SignedArgsValidator,
    ReturnsValidator extends PropertyValidators | Validator<any, "required", any> | void,
    ReturnValue extends ReturnValueForOptionalValidator<ReturnsValidator> = any,
    OneOrZeroArgs extends ArgsArrayForOptionalValidator<ArgsValidator> = DefaultArgsForOptionalValidator<ArgsValidator>,
  >(
    definition:
      | {
          /** Validators of the args, as in a Convex function (the envelope field is added). */
          args?: ArgsValidator;
          /** Validator of the return value, as in a Convex function. */
          returns?: ReturnsValidator;
          /** This function's time window, instead of the default. */
          window?: Window;
          /** Runs once the call is verified (and, for mutations and actions, its nonce claimed). */
          handler: (ctx: SignedCtx<Ctx>, ...args: OneOrZeroArgs) => ReturnValue;
        }
      | ((ctx: SignedCtx<Ctx>, ...args: OneOrZeroArgs) => ReturnValue),
  ): Registered<K, Visibility, WithEnvelope<ArgsArrayToObject<OneOrZeroArgs>>, ReturnValue>;
};

/**
 * A builder of public Convex functions: `query`, `mutation`, `action` from
 * `./_generated/server`, or a customized one. (Internal functions cannot be called from
 * outside; the gateway reaches them.)
 */
export type PublicBuilder = (definition: never) => { isConvexFunction: true; isPublic: true };

type RegisteredOf<B> = B extends (definition: never) => infer R ? R : never;
type KindOf<B> = RegisteredOf<B> extends { isQuery: true }
  ? "query"
  : RegisteredOf<B> extends { isMutation: true }
    ? "mutation"
    : "action";
type VisibilityOf<B> = RegisteredOf<B> extends { isPublic: true } ? "public" : "internal";
/** The ctx a builder gives its handlers (for a customized builder, the customized ctx). */
type CtxOf<B> = B extends (definition: infer D) => unknown
  ? Extract<D, { handler: unknown }> extends { handler: (ctx: infer C, ...args: never) => unknown }
    ? C
    : never
  : never;

/**
 * What {@link Callsign.signed} returns for builder `B`. It is also `B` itself, to the type
 * checker, so that a customization can wrap it (`customMutation(cs.signed(mutation), ...)`
 * needs a `MutationBuilder`); its handlers then run with `ctx.callsign` set (read it with
 * {@link claimsOf}).
 */
export type SignedBuilderOf<B> = SignedBuilder<KindOf<B>, VisibilityOf<B>, CtxOf<B>> & B;

/** The builders the gateway is made with: pass the ones from `./_generated/server`. */
export interface GatewayBuilders<DataModel extends GenericDataModel> {
  query: QueryBuilder<DataModel, "public">;
  mutation: MutationBuilder<DataModel, "public">;
  action: ActionBuilder<DataModel, "public">;
}

/** Internal functions the gateway may run, by kind. */
export interface GatewayAllowList {
  queries?: FunctionReference<"query", "internal">[];
  mutations?: FunctionReference<"mutation", "internal">[];
  actions?: FunctionReference<"action", "internal">[];
}

/** The args of the gateway functions: which internal function, its args, and the envelope. */
export type GatewayArgs = {
  function: string;
  args: Record<string, unknown>;
  [FIELD]: Envelope;
};

/** The gateway's three functions; export them from `convex/callsign.ts`. */
export interface Gateway {
  /** Runs an allowed internal query for a signed call (no replay check, as queries). */
  runQuery: RegisteredQuery<"public", GatewayArgs, Promise<unknown>>;
  /** Runs an allowed internal mutation for a signed call, in this transaction. */
  runMutation: RegisteredMutation<"public", GatewayArgs, Promise<unknown>>;
  /** Runs an allowed internal action for a signed call, after claiming its nonce. */
  runAction: RegisteredAction<"public", GatewayArgs, Promise<unknown>>;
}

/**
 * The envelope field's validator. Convex checks nothing here: the envelope is callsign's to
 * check, so that a missing or malformed one fails with the stable code `malformed` rather
 * than a generic validation error. Typed as a required envelope for callers.
 */
export const envelopeValidator = v.optional(v.any()) as unknown as Validator<Envelope, "required", string>;

type AnyCtx = {
  meta: { getFunctionMetadata(): Promise<{ name: string }> };
  runMutation?: (ref: FunctionReference<"mutation", "internal">, args: Record<string, unknown>) => Promise<unknown>;
};

/**
 * callsign for one app: wraps Convex's builders into signed ones and makes the signed gateway,
 * with one replay store (the component) and one configuration.
 */
export class Callsign {
  /** The component holding the replay store. */
  readonly component: CallsignComponent;
  readonly #options: CallsignOptions;
  readonly #verifierFor: (window?: Window) => Verifier;
  readonly #scopes: Map<string, Scope>;

  /**
   * @param component `components.callsign` from `./_generated/api` (after
   *   `app.use(callsign)` in `convex/convex.config.ts`).
   * @throws Error on a malformed `scopes` entry, when the module loads.
   */
  constructor(component: CallsignComponent, options: CallsignOptions = {}) {
    this.component = component;
    this.#options = options;
    this.#verifierFor = cachedVerifiers(options);
    this.#scopes = scopesOf(options.scopes ?? {});
  }

  /**
   * Wraps a builder (`query`, `mutation` or `action` from `./_generated/server`, or one made
   * by convex-helpers' `customQuery` / `customMutation` / `customAction`) into one whose
   * functions run only for signed calls:
   *
   * * a **mutation** claims the nonce in the component **inside its own transaction**: a handler
   *   that throws leaves the nonce unused (the same call can then be submitted again, by anyone
   *   who has seen it, until it expires: make handlers that may fail idempotent), and two
   *   concurrent replays conflict, so only one commits;
   * * an **action** claims it before the handler runs; an action cannot roll back, so a handler
   *   that fails has used its nonce;
   * * a **query** cannot write, so it checks the signature and the window but cannot reject
   *   replays: a captured call can be replayed while `ts - maxFutureMs <= now <= ts + maxAgeMs`
   *   (two minutes with the default window). Use it where reading twice is harmless, and
   *   consider a shorter `window`.
   *
   * Wrap the plain builder and customize outside it (`customMutation(cs.signed(mutation), …)`):
   * callsign then verifies first, over every arg the caller sent, and the customization sees
   * `ctx.callsign`. A customized builder can be wrapped too when the customization only adds
   * to ctx; one that takes args of its own is refused, because callsign would not see them.
   *
   * @param options.window The window of every function of this builder (a function's own
   *   `window` wins). With a customization outside, this is how to set one.
   * @throws Error when a function is defined with args Convex cannot deploy, an args field
   *   named like the envelope, or on a builder that is not public.
   */
  signed<B extends PublicBuilder>(builder: B, options: { window?: Window } = {}): SignedBuilderOf<B> {
    const signedBuilder = (definition: unknown) => {
      const def = (typeof definition === "function" ? { handler: definition } : definition) as {
        args?: unknown;
        returns?: unknown;
        window?: Window;
        handler: (ctx: unknown, args: Args) => unknown;
      };
      const { args, window = options.window, handler, ...rest } = def;
      if (typeof handler !== "function") throw new Error("callsign: a signed function needs a handler");
      const declared = withEnvelopeArgs(args);
      let kind: Kind | undefined;
      const registered = (builder as unknown as (definition: object) => unknown)({
        ...rest,
        ...(declared === undefined ? {} : { args: declared }),
        handler: async (ctx: AnyCtx, signedArgs: Args | undefined) => {
          const received = signedArgs ?? {};
          const claims = this.#verify((await ctx.meta.getFunctionMetadata()).name, received, window);
          this.#checkScope(claims);
          if (kind !== "query") await this.#claim(ctx, claims);
          return handler({ ...ctx, [CTX_FIELD]: handedClaims(claims) }, withoutEnvelope(received));
        },
      });
      kind = kindOf(registered);
      checkArgsReachCallsign(registered, declared);
      return registered;
    };
    return signedBuilder as unknown as SignedBuilderOf<B>;
  }

  /**
   * The gateway: three public functions (`runQuery`, `runMutation`, `runAction`, exported from
   * `convex/callsign.ts`, where `SignedConvexHttpClient` calls them) that run existing internal
   * functions for signed calls, unchanged. Each verifies the signature over exactly that
   * internal function's name and args, refuses anything not on its kind's allow-list (or
   * outside the key's scope) as `not_allowed` — after the signature, so callers without a key
   * learn nothing about the list — claims the nonce (in the same transaction for mutations: the
   * internal mutation runs nested, and if it throws, nothing is kept), and runs the function.
   *
   * @throws Error when an allow-list entry is not a function reference (`internal.file.fn`).
   */
  gateway<DataModel extends GenericDataModel>(builders: GatewayBuilders<DataModel>, allow: GatewayAllowList = {}): Gateway {
    const lists: Record<Kind, Set<string>> = {
      query: allowList(allow.queries),
      mutation: allowList(allow.mutations),
      action: allowList(allow.actions),
    };
    const make = (builder: unknown, kind: Kind, run: (ctx: any, name: string, args: Args) => Promise<unknown>) =>
      (builder as (definition: object) => unknown)({
        args: { function: v.string(), args: v.any(), [FIELD]: envelopeValidator },
        handler: async (ctx: AnyCtx, args: GatewayArgs) => {
          const signedArgs = gatewaySignedArgs(args);
          const claims = this.#verify(args.function, signedArgs);
          if (!lists[kind].has(claims.function)) {
            throw rejection("not_allowed", `${kind} \`${claims.function}\` is not on the gateway's allow-list`);
          }
          this.#checkScope(claims);
          if (kind !== "query") await this.#claim(ctx, claims);
          return await run(ctx, claims.function, withoutEnvelope(signedArgs));
        },
      });
    return {
      runQuery: make(builders.query, "query", (ctx: GenericQueryCtx<DataModel>, name, args) =>
        ctx.runQuery(makeFunctionReference<"query">(name), args),
      ),
      // A nested mutation runs in this transaction: if it throws, the claim is undone too.
      runMutation: make(builders.mutation, "mutation", (ctx: GenericMutationCtx<DataModel>, name, args) =>
        ctx.runMutation(makeFunctionReference<"mutation">(name), args),
      ),
      runAction: make(builders.action, "action", (ctx: GenericActionCtx<DataModel>, name, args) =>
        ctx.runAction(makeFunctionReference<"action">(name), args),
      ),
    } as Gateway;
  }

  /**
   * Verifies `signedArgs` as a call to `functionName` under `window` (the function's own, or
   * the default); Convex errors carry the code. What the caller must not learn (the kids held,
   * what is wrong with the configuration) goes to the deployment's log instead (SPEC.md §9).
   */
  #verify(functionName: string, signedArgs: Args, window?: Window): Verified {
    const verifier = this.#verifierFor(window ?? this.#options.window);
    try {
      return verifier.verify(functionName, signedArgs);
    } catch (e) {
      if (e instanceof CallsignError && e.code === "unknown_key") {
        console.warn(`callsign: ${e.code}: ${e.message}; this deployment holds ${verifier.kids.join(", ")}`);
      }
      throw e instanceof CallsignError ? rejection(e.code, e.message) : e;
    }
  }

  /** A scoped key reaches only the functions in its scope (checked after the signature). */
  #checkScope(claims: Verified): void {
    const scope = this.#scopes.get(claims.kid);
    if (scope !== undefined && !scope.allows(claims.function)) {
      throw rejection("not_allowed", `the key ${claims.kid} may not call \`${claims.function}\``);
    }
  }

  /**
   * Claims the call's nonce in the component. From a mutation, `ctx.runMutation` runs the
   * claim inside the caller's transaction (it commits or rolls back with it); from an action,
   * in a transaction of its own.
   */
  async #claim(ctx: AnyCtx, claims: Verified): Promise<void> {
    if (ctx.runMutation === undefined) throw new Error("callsign: this ctx cannot run mutations");
    const refused = (await ctx.runMutation(this.component.store.claim, {
      kid: claims.kid,
      nonce: claims.nonce,
      ts: claims.ts,
      rememberUntil: claims.rememberUntil,
    })) as CallsignErrorData | null;
    if (refused !== null) throw rejection(refused.code, refused.message);
  }
}

/** Where a signed function's ctx holds the claims. */
const CTX_FIELD = "callsign";

/**
 * The verified call of a signed function's ctx, typed: for a customization wrapped around a
 * signed builder, whose ctx the type checker knows without `callsign`:
 *
 * ```ts
 * const reporting = customQuery(cs.signed(query), customCtx(async (ctx) => ({
 *   caller: callers[claimsOf(ctx).kid],
 * })));
 * ```
 * @throws Error if `ctx` is not a signed function's.
 */
export function claimsOf(ctx: object): CallsignClaims {
  const claims = (ctx as { [CTX_FIELD]?: unknown })[CTX_FIELD];
  if (typeof claims !== "object" || claims === null || !CLAIMS.has(claims)) {
    throw new Error("callsign: this ctx is not a signed function's (build the function with cs.signed(...))");
  }
  return claims as CallsignClaims;
}

/** The claims objects handed to handlers: so that claimsOf recognizes only real ones. */
const CLAIMS = new WeakSet<object>();

/** The claims a handler sees: frozen, so no code in the call can change what later code reads. */
function handedClaims({ canonicalArgs: _canonical, ...claims }: Verified): CallsignClaims {
  const frozen = Object.freeze(claims);
  CLAIMS.add(frozen);
  return frozen;
}

/** The failure every signed function throws: a `ConvexError` carrying the stable code. */
export function rejection(code: ErrorCode, message: string): ConvexError<CallsignErrorData> {
  return new ConvexError({ code, message });
}

const isValidator = (x: unknown): x is GenericValidator =>
  typeof x === "object" && x !== null && (x as { isConvexValidator?: unknown }).isConvexValidator === true;

const hasOwn = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

function reserved(): Error {
  return new Error(`callsign: \`${FIELD}\` is the envelope's field; a signed function's args cannot use it`);
}

/**
 * The definition's args validator plus the envelope field, in whatever form it came: a record
 * of validators (as written by hand), a `v.object` (what convex-helpers' builders pass on), or
 * `v.any()`. No args stay unvalidated: adding the field would make Convex refuse every other
 * arg. (Without a validator for it, the envelope is still required: verification refuses a
 * call without one as `malformed`.)
 */
function withEnvelopeArgs(args: unknown): PropertyValidators | GenericValidator | undefined {
  if (args === undefined) return undefined;
  if (typeof args !== "object" || args === null) {
    throw new Error("callsign: args must be a record of validators, v.object(...) or v.any()");
  }
  if (!isValidator(args)) {
    if (hasOwn(args, FIELD)) throw reserved();
    return { ...(args as PropertyValidators), [FIELD]: envelopeValidator };
  }
  switch (args.kind) {
    case "object": {
      const fields = (args as VObject<any, Record<string, GenericValidator>>).fields;
      if (hasOwn(fields, FIELD)) throw reserved();
      return v.object({ ...fields, [FIELD]: envelopeValidator });
    }
    case "any":
      return args;
    default:
      // Convex refuses these at push ("Args validator must be an object or any"); convex-test
      // refuses them on the first call. Say so where the function is defined.
      throw new Error(
        `callsign: a function's args must be an object (a record of validators or v.object) or v.any(), not ` +
          `v.${args.kind}(...): Convex cannot deploy it ("Args validator must be an object or any"). ` +
          `For alternatives, put the union in a field: args: { request: v.union(...) }`,
      );
  }
}

/** The kind of what a builder made, which must be a public Convex function. */
function kindOf(registered: unknown): Kind {
  const fn = (registered ?? {}) as { isQuery?: boolean; isMutation?: boolean; isAction?: boolean; isPublic?: boolean };
  const kind: Kind | undefined = fn.isQuery ? "query" : fn.isMutation ? "mutation" : fn.isAction ? "action" : undefined;
  if (kind === undefined) throw new Error("callsign: signed() wraps a query, mutation or action builder");
  if (fn.isPublic !== true) {
    throw new Error(
      "callsign: signed functions are public (a server can only call those); reach internal functions through cs.gateway(...)",
    );
  }
  return kind;
}

/**
 * A customized builder wrapped by signed() may take args of its own, which it removes before
 * callsign's handler runs: callsign would verify without them, and so leave args the handler's
 * ctx is built from outside the signature. Refused: the registered function must take exactly
 * the args callsign was given.
 */
function checkArgsReachCallsign(registered: unknown, declared: PropertyValidators | GenericValidator | undefined): void {
  const exportArgs = (registered as { exportArgs?: () => string }).exportArgs;
  if (typeof exportArgs !== "function") return;
  const exported = JSON.parse(exportArgs.call(registered)) as { type: string; value?: Record<string, unknown> };
  const expected =
    declared === undefined
      ? undefined
      : isValidator(declared)
        ? declared.kind === "object"
          ? Object.keys((declared as VObject<any, Record<string, GenericValidator>>).fields)
          : undefined
        : Object.keys(declared);
  const got = exported.type === "object" ? Object.keys(exported.value ?? {}) : undefined;
  const extra = got === undefined ? [] : got.filter((k) => !(expected ?? []).includes(k));
  if ((expected === undefined) !== (got === undefined) || extra.length > 0) {
    throw new Error(
      `callsign: the builder given to signed() takes args of its own${extra.length ? ` (${extra.join(", ")})` : ""}, which ` +
        `callsign would not see, so they would not be signed. Wrap the plain builder and customize outside: ` +
        `customMutation(cs.signed(mutation), ...)`,
    );
  }
}

function withoutEnvelope(args: Args): Args {
  const { [FIELD]: _envelope, ...rest } = args;
  return rest;
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
  if (hasOwn(inner, FIELD)) {
    throw rejection("malformed", `the gateway's \`args\` must not contain the field \`${FIELD}\``);
  }
  return { ...(inner as Args), [FIELD]: args[FIELD] as unknown as Args[string] };
}

function allowList(refs: FunctionReference<any, "internal">[] | undefined): Set<string> {
  const names = new Set<string>();
  for (const ref of refs ?? []) {
    // References (`internal.file.fn`) always name `module:export`; a bare string would need
    // the core's normalization (SPEC.md §3.3) to compare, so it is refused.
    if (typeof ref === "string") {
      throw new Error(`callsign: gateway entries must be references like internal.file.fn, not ${JSON.stringify(ref)}`);
    }
    names.add(getFunctionName(ref));
  }
  return names;
}

/** The functions one key may call: exact canonical names, and whole modules. */
interface Scope {
  allows(fn: string): boolean;
}

const KID = /^[A-Za-z0-9.-]{1,64}$/;

/**
 * A scope entry as `[module, export]`, if it is a canonical function name (SPEC.md §3.3) as the
 * verifier's claims give it — `dir/file:fn`, or `dir/file:*` — so that it compares with them
 * byte for byte. Spellings the claims never use (`file.js:fn`, `file` for `file:default`) are
 * refused rather than normalized: such an entry would otherwise silently match nothing.
 */
function scopeEntry(name: string): [module: string, fn: string] | undefined {
  if (!/^[\x21-\x7e]{1,512}$/.test(name)) return undefined;
  const colon = name.lastIndexOf(":");
  const module = name.slice(0, Math.max(colon, 0));
  const fn = name.slice(colon + 1);
  if (colon <= 0 || fn === "" || module.endsWith("/") || module.endsWith(".js")) return undefined;
  return [module, fn];
}

function scopesOf(scopes: Record<string, ScopeEntry[]>): Map<string, Scope> {
  const out = new Map<string, Scope>();
  for (const [kid, entries] of Object.entries(scopes)) {
    if (!KID.test(kid)) throw new Error(`callsign: scopes: ${JSON.stringify(kid)} is not a key id (SPEC.md §6.1)`);
    if (!Array.isArray(entries)) throw new Error(`callsign: scopes.${kid} must be a list of functions`);
    const names = new Set<string>();
    const modules = new Set<string>();
    for (const entry of entries) {
      const name = typeof entry === "string" ? entry : getFunctionName(entry);
      const parsed = scopeEntry(name);
      if (parsed === undefined) {
        throw new Error(
          `callsign: scopes.${kid}: ${JSON.stringify(name)} is not a function (a reference, "dir/file:fn" or "dir/file:*")`,
        );
      }
      if (parsed[1] === "*") modules.add(parsed[0]);
      else names.add(name);
    }
    out.set(kid, { allows: (fn) => names.has(fn) || modules.has(fn.slice(0, fn.lastIndexOf(":"))) });
  }
  return out;
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
  return (window) => {
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

export { isCallsignError, type CallsignErrorData } from "./index.js";
export type { Envelope, Verified } from "./index.js";
