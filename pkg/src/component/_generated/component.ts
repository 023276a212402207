/* eslint-disable */
/**
 * Generated `ComponentApi` utility.
 *
 * THIS CODE IS AUTOMATICALLY GENERATED.
 *
 * To regenerate, run `npx convex dev`.
 * @module
 */

import type { FunctionReference } from "convex/server";

/**
 * A utility for referencing a Convex component's exposed API.
 *
 * Useful when expecting a parameter like `components.myComponent`.
 * Usage:
 * ```ts
 * async function myFunction(ctx: QueryCtx, component: ComponentApi) {
 *   return ctx.runQuery(component.someFile.someQuery, { ...args });
 * }
 * ```
 */
export type ComponentApi<Name extends string | undefined = string | undefined> =
  {
    store: {
      claim: FunctionReference<
        "mutation",
        "internal",
        { kid: string; nonce: string; rememberUntil: number; ts: number },
        null | { code: "replayed"; message: string },
        Name
      >;
      cleanup: FunctionReference<
        "mutation",
        "internal",
        {},
        { deleted: number; more: boolean },
        Name
      >;
    };
  };
