/// <reference types="node" />
// A loopback stand-in for a Convex deployment's HTTP API, in front of convex-test: real
// clients (`ConvexHttpClient`, `SignedConvexHttpClient`, `fetchMutation` from `convex/nextjs`,
// a raw `fetch`, a Rust server) call it over the wire and the functions run in convex-test.
// Exported from `convex-callsign/test`:
//
//   import { convexTest } from "convex-test";
//   import { register, serveConvex } from "convex-callsign/test";
//   const modules = import.meta.glob("./convex/**/*.*s");        // or convexModules(dir) in plain Node
//   const t = convexTest(schema, modules);
//   register(t);                                                  // the callsign component
//   const deployment = await serveConvex({ t, modules });         // deployment.url: http://127.0.0.1:<port>
//   process.env.CONVEX_CLOUD_URL = deployment.url;                // the audience the functions verify for
//   ...
//   await deployment.close();
//
// convex-test needs neither vitest nor the edge runtime: in plain Node (`node --test`) give
// it the modules map from convexModules(); plain Node imports only JavaScript. For a
// TypeScript convex/ folder, start the stub inside a vitest test and pass
// `import.meta.glob("../convex/**/*.*s")` as the modules (the clients' requests reach it the
// same way).
//
// What it answers, as convex-backend's crates/local_backend/src/public_api.rs does:
//   POST /api/query | /api/mutation | /api/action, `Content-Type: application/json`, body
//   `{"path", "args", "format"?}`. `path` is `dir/file:fn`, `dir/file.js:fn` or `dir/file`
//   (the default export); `args` is one object in Convex's JSON encoding, or an array of one
//   (what ConvexHttpClient sends). `format` picks how values come back: `convex_encoded_json`
//   (alias `convex_json`; what the npm client asks for) or `json` (alias `convex_clean_json`;
//   the default: int64 as a decimal string, bytes as base64, NaN/±Infinity as strings).
// → 200 `{"status":"success","value"}` or `{"status":"error","errorMessage","errorData"?}`,
//   `errorData` being a thrown ConvexError's data (the npm client re-throws a ConvexError
//   with it as `.data`). The open-source backend answers function errors with 200;
//   `functionErrorStatus: 560` gives the older "function failed" status the client also reads.
// → 400 `{"code","message"}` for a malformed request (`BadJsonBody`,
//   `BadConvexFunctionIdentifier`, `BadFormat` as the backend names them; `BadConvexValue`,
//   args that are not Convex JSON, is this stub's name), 413 over the backend's 16 MiB
//   request limit, 404 for any other route.
//
// Not modelled: auth (an Authorization header is ignored), logLines (function logs go to
// this process's console), /api/function, /api/run, /api/query_ts and query_at_ts,
// `export_json`. Without `modules`, internal functions are callable too (convex-test
// allows it); with them, only public ones, as on a deployment.
import { createServer, type IncomingMessage } from "node:http";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { makeFunctionReference } from "convex/server";
import { convexToJson, jsonToConvex, type JSONValue, type Value } from "convex/values";

/** The backend's own request size limit (MAX_BACKEND_PUBLIC_API_REQUEST_SIZE). */
const MAX_BODY_BYTES = (1 << 24) + 2000;
const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);
const ENDPOINTS: Record<string, Kind | undefined> = {
  "/api/query": "query",
  "/api/mutation": "mutation",
  "/api/action": "action",
};

type Kind = "query" | "mutation" | "action";

/** A convex-test modules map: module path to a loader, as `import.meta.glob` gives it. */
export type ConvexModules = Record<string, () => Promise<any>>;

/** What serveConvex needs of a convex-test instance (`convexTest(schema, modules)`). */
export interface ConvexTestRunner {
  query(ref: any, args: any): Promise<any>;
  mutation(ref: any, args: any): Promise<any>;
  action(ref: any, args: any): Promise<any>;
}

/** How {@link serveConvex} is set up. */
export interface ServeConvexOptions {
  /** `convexTest(schema, modules)`, with the callsign component registered. */
  t: ConvexTestRunner;
  /**
   * The same modules map: lets the stub refuse internal and missing functions the way a
   * deployment does. Without it, internal functions are callable too.
   */
  modules?: ConvexModules;
  /** Default 0: any free port. */
  port?: number;
  /** A loopback address; default 127.0.0.1. */
  host?: string;
  /** HTTP status of a function's error; default 200 (today's backend), or 560 (older ones). */
  functionErrorStatus?: 200 | 560;
}

/** A running stand-in deployment. */
export interface ServedConvex {
  /**
   * The deployment URL (no trailing slash): sign for it, and give it to the functions as
   * `CONVEX_CLOUD_URL`.
   */
  url: string;
  /** Each request's endpoint and parsed body, in order. */
  requests: { endpoint: string; body: any }[];
  close(): Promise<void>;
}

/**
 * The Convex modules under `dir` as convex-test's second argument, for plain Node (where
 * there is no `import.meta.glob`): `{ "<abs path>.js": () => import(...) }`, loaded lazily.
 * `dir` must hold `_generated/` (convex-test finds the modules' root by it). Only `.js` and
 * `.mjs` files: plain Node cannot import TypeScript.
 */
export async function convexModules(dir: string | URL): Promise<ConvexModules> {
  const root = dir instanceof URL ? fileURLToPath(dir) : dir;
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  const modules: ConvexModules = {};
  for (const entry of entries) {
    if (!entry.isFile() || !/\.m?js$/.test(entry.name)) continue;
    // Node 20.12+ names the directory `parentPath`; earlier 20.x, `path`.
    const parent = (entry as { parentPath?: string }).parentPath ?? (entry as unknown as { path: string }).path;
    const file = join(parent, entry.name).replaceAll("\\", "/");
    if (file.includes("/node_modules/")) continue;
    modules[file] = () => import(pathToFileURL(file).href);
  }
  return modules;
}

/** Serves Convex's HTTP API on loopback, running each call in the convex-test instance `t`. */
export async function serveConvex({
  t,
  modules,
  port = 0,
  host = "127.0.0.1",
  functionErrorStatus = 200,
}: ServeConvexOptions): Promise<ServedConvex> {
  if (!LOOPBACK.has(host)) throw new Error(`serveConvex listens on loopback only, not ${host}`);
  if (functionErrorStatus !== 200 && functionErrorStatus !== 560) {
    throw new Error("functionErrorStatus is 200 or 560");
  }
  const visibility = modules === undefined ? undefined : publicFunctions(modules);
  const requests: ServedConvex["requests"] = [];
  let requestCount = 0;

  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(text),
      });
      res.end(text);
    };
    handle(req)
      .then(([status, body]) => reply(status, body))
      .catch((e) => reply(500, { code: "InternalServerError", message: `stub: ${e?.stack ?? e}` }));
  });

  async function handle(req: IncomingMessage): Promise<[number, unknown]> {
    const url = new URL(req.url ?? "/", "http://stub");
    const kind = ENDPOINTS[url.pathname];
    if (req.method !== "POST" || kind === undefined) {
      req.resume();
      const message = `${req.method} ${url.pathname} is not served by this stub`;
      return [404, { code: "NotFound", message }];
    }
    if (!isJson(req.headers["content-type"])) {
      req.resume();
      return [400, badRequest("BadJsonBody", "Expected request with `Content-Type: application/json`")];
    }
    const text = await readBody(req);
    if (text === undefined) return [413, badRequest("PayloadTooLarge", "request body too large")];
    let body: any;
    try {
      body = JSON.parse(text);
    } catch (e) {
      return [400, badRequest("BadJsonBody", `Failed to parse the request body as JSON: ${(e as Error).message}`)];
    }
    requests.push({ endpoint: url.pathname, body });
    if (body === null || typeof body !== "object" || typeof body.path !== "string" || !("args" in body)) {
      const message = 'expected {"path": string, "args": object, "format"?: string}';
      return [400, badRequest("BadJsonBody", message)];
    }
    const format: string = body.format ?? "json";
    const exportValue = FORMATS[format];
    if (exportValue === undefined) {
      return [400, badRequest("BadFormat", `format param must be one of [\`json\`]. Got ${format}`)];
    }
    let fn: string;
    try {
      fn = canonicalPath(body.path);
    } catch (e) {
      const message = `${body.path} is not a valid path to a Convex function. ${(e as Error).message}`;
      return [400, badRequest("BadConvexFunctionIdentifier", message)];
    }
    let args: Value;
    try {
      // A one-element array is the positional form the npm client still sends.
      const raw = Array.isArray(body.args) && body.args.length === 1 ? body.args[0] : body.args;
      args = jsonToConvex(raw);
    } catch (e) {
      return [400, badRequest("BadConvexValue", (e as Error).message)];
    }

    const requestId = `stub${String(++requestCount).padStart(12, "0")}`;
    // A dev deployment's wording: the error follows the request id.
    const failed = (message: string, response = {}): [number, unknown] => [
      functionErrorStatus,
      { status: "error", errorMessage: `[Request ID: ${requestId}] Server Error\n${message}`, ...response },
    ];
    if (visibility !== undefined && !(await visibility(fn))) {
      return failed(`Could not find public function for '${stripDefault(fn)}'.`);
    }
    try {
      const value = await t[kind](makeFunctionReference(fn), args);
      return [200, { status: "success", value: exportValue(value === undefined ? null : value) }];
    } catch (e: any) {
      const message = `Uncaught ${e?.name ?? "Error"}: ${e?.message ?? e}`;
      const isConvexError = typeof e === "object" && e !== null && Symbol.for("ConvexError") in e;
      return failed(message, isConvexError ? { errorData: exportValue(e.data) } : {});
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as { address: string; family: string; port: number };
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** Value exporters by `format`, as convex-backend's value/src/export.rs. */
const FORMATS: Record<string, ((value: Value) => JSONValue) | undefined> = {
  convex_encoded_json: convexToJson,
  convex_json: convexToJson,
  json: exportClean,
  convex_clean_json: exportClean,
};

/**
 * A Convex value in the HTTP API's `json` format (convex-backend's ConvexValue::export_clean):
 * readable but lossy, an int64 and a string can look alike.
 */
export function exportClean(value: Value): JSONValue {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    if (value === Infinity) return "Infinity";
    if (value === -Infinity) return "-Infinity";
    return value;
  }
  if (value instanceof ArrayBuffer) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map(exportClean);
  // Anything else is an object; convexToJson rejects what is not a Convex value.
  convexToJson(value);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, exportClean(v as Value)]));
}

/**
 * `dir/file.js:fn` → `dir/file:fn`, `dir/file` → `dir/file:default`, as the backend's
 * CanonicalizedUdfPath parsing does; throws on what the backend refuses.
 */
function canonicalPath(path: string): string {
  const colon = path.lastIndexOf(":");
  let module = colon === -1 ? path : path.slice(0, colon);
  const fn = colon === -1 ? "default" : path.slice(colon + 1);
  if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(fn)) {
    throw new Error(`Invalid function name ${JSON.stringify(fn)}.`);
  }
  const parts = module.split("/");
  if (module.startsWith("/")) throw new Error(`Module paths must be relative (${module} is absolute).`);
  if (parts.some((p) => p === "" || p === "." || p === "..")) {
    throw new Error(`Invalid path component in ${module}`);
  }
  const last = parts.at(-1)!;
  const dot = last.lastIndexOf(".");
  if (dot > 0) {
    if (last.slice(dot + 1) !== "js") {
      throw new Error(`Module path (${module}) has an extension that isn't 'js'.`);
    }
    module = module.slice(0, module.length - last.length + dot);
  }
  return `${module}:${fn}`;
}

function stripDefault(fn: string): string {
  return fn.endsWith(":default") ? fn.slice(0, -":default".length) : fn;
}

/** Whether a canonical `module:fn` is a public function in `modules` (a convex-test map). */
function publicFunctions(modules: ConvexModules): (fn: string) => Promise<boolean> {
  const generated = Object.keys(modules).find((key) => key.includes("_generated"));
  if (generated === undefined) {
    throw new Error("modules has no _generated/ entry (convex-test needs one)");
  }
  const prefix = generated.split("_generated", 2)[0];
  const byModule = new Map(Object.entries(modules).map(([key, load]) => [key.replace(/\.[^.]+$/, ""), load]));
  return async (fn) => {
    const [module, name] = fn.split(":") as [string, string];
    const load = byModule.get(prefix + module);
    if (load === undefined) return false;
    const exported = (await load())[name];
    return exported?.isPublic === true;
  };
}

function badRequest(code: string, message: string) {
  return { code, message };
}

/** `application/json` or `application/<x>+json`, parameters allowed, as the backend accepts. */
function isJson(contentType: string | undefined): boolean {
  const mime = (contentType ?? "").split(";", 1)[0]!.trim().toLowerCase();
  return mime === "application/json" || /^application\/[^/]+\+json$/.test(mime);
}

/** The body as text, or undefined when over the size limit. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Read on past the limit without keeping it, so that the answer can still be sent.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString("utf8");
}
