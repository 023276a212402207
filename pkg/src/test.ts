/**
 * Testing an app that uses callsign, locally: the component for convex-test, and a loopback
 * stand-in for a deployment's HTTP API so that real clients (`SignedConvexHttpClient`,
 * `fetchMutation`, a Rust server) can call the app.
 *
 * ```ts
 * import { convexTest } from "convex-test";
 * import { register } from "convex-callsign/test";
 * import schema from "../convex/schema";
 *
 * const t = convexTest(schema, import.meta.glob("../convex/**\/*.*s"));
 * register(t); // components.callsign, as `app.use(callsign)` installs it
 * ```
 *
 * @module
 */
import type { CallsignComponent } from "./convex.js";
import schema from "./component/schema.js";

/**
 * The component's modules, for convex-test: an explicit map over the built JavaScript (not
 * `import.meta.glob`), so that it works from an installed package that ships only `dist/`
 * and needs no bundler transform: every module of `dist/component/` but its definition
 * (a test holds the two lists equal). It must include `_generated/` (convex-test finds the
 * component's root by it).
 */
export const modules: Record<string, () => Promise<unknown>> = {
  "./component/_generated/api.js": () => import("./component/_generated/api.js"),
  "./component/_generated/component.js": () => import("./component/_generated/component.js"),
  "./component/_generated/dataModel.js": () => import("./component/_generated/dataModel.js"),
  "./component/_generated/server.js": () => import("./component/_generated/server.js"),
  "./component/crons.js": () => import("./component/crons.js"),
  "./component/schema.js": () => import("./component/schema.js"),
  "./component/store.js": () => import("./component/store.js"),
};

/** The component's schema (its tables: `nonces`, `watermark`). */
export { schema };

/** What register() needs of a convex-test instance (`convexTest(schema, modules)`). */
export interface ComponentRegistry {
  registerComponent(name: string, schema: typeof import("./component/schema.js").default, modules: Record<string, () => Promise<unknown>>): unknown;
}

/**
 * Registers the callsign component on a convex-test instance under `name` (the name
 * `app.use(callsign)` gives it: `"callsign"`, unless the app passed `{ name }`). Returns its
 * references, typed (convex-test's `defineTestApp` uses this).
 */
export function register(t: ComponentRegistry, name = "callsign"): CallsignComponent {
  return t.registerComponent(name, schema, modules) as CallsignComponent;
}

export default { register, schema, modules };

export {
  convexModules,
  exportClean,
  serveConvex,
  type ConvexModules,
  type ConvexTestRunner,
  type ServeConvexOptions,
  type ServedConvex,
} from "./test-http.js";
