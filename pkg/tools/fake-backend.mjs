// A loopback fake of the two deployment endpoints `npx convex codegen` calls
// (/api/get_config_hashes and /api/deploy2/start_push), so that the Convex CLI's own codegen
// can write a component's `_generated/` (component.ts, the typed api.ts) and an app's, with
// no deployment. Used by pkg/codegen; not part of the package.
//
// The real backend answers start_push with an "analysis" of the pushed bundles, which it makes
// by evaluating them: each function's kind, visibility, args and returns validators, and each
// definition's export tree. This fake does the same in Node: it writes each bundle to a
// temporary directory and imports it. It has no schema analysis (`schema: null`, so
// `codegen.staticDataModel` is not supported) and validates nothing the real backend would
// refuse (e.g. top-level union args): it is for generating types, not for checking a push.
//
// Checked against a real backend's output: run on get-convex/rate-limiter's source, its
// component.ts, api.ts and dataModel.ts came out byte for byte as that repository commits them.
//
// Usage: node fake-backend.mjs [PORT] [WORKDIR]    PORT 0 (default) picks a free port; the
// server prints "listening <port>" once it accepts connections, on 127.0.0.1 only.
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import zlib from "node:zlib";

const port = Number(process.argv[2] ?? 0);
const workDir = process.argv[3] ?? fs.mkdtempSync(path.join(os.tmpdir(), "fake-backend-"));
fs.mkdirSync(workDir, { recursive: true });
const log = (line) => fs.appendFileSync(path.join(workDir, "requests.log"), `${line}\n`);

let seq = 0;
/** Default names of component definitions, by definition path (filled as they are analyzed). */
const defaultNames = {};

/** Writes bundled modules to a fresh directory and imports each one that is not a shared chunk. */
async function loadModules(modules, deps = []) {
  const dir = fs.mkdtempSync(path.join(workDir, "modules-"));
  // A definition's convex.config bundle imports each child component definition as
  // "./_componentDeps/<base64url(definitionPath)>"; the backend supplies these.
  fs.mkdirSync(path.join(dir, "_componentDeps"), { recursive: true });
  for (const dep of deps) {
    const id = Buffer.from(dep).toString("base64url");
    fs.writeFileSync(
      path.join(dir, "_componentDeps", `${id}.mjs`),
      `export default ${JSON.stringify({ componentDefinitionPath: dep, defaultName: defaultNames[dep] })};`,
    );
  }
  // Bundles are ES modules named .js; Node needs .mjs (no package.json here), and their
  // relative imports ("./_deps/X.js") renamed to match.
  const file = (p) => path.join(dir, p.replace(/\.js$/, ".mjs"));
  for (const m of modules) {
    fs.mkdirSync(path.dirname(file(m.path)), { recursive: true });
    fs.writeFileSync(
      file(m.path),
      m.source
        .replace(/(["']\.\.?\/[^"'\s]+)\.js(["'])/g, "$1.mjs$2")
        .replace(/(["']\.\/_componentDeps\/[A-Za-z0-9_-]+)(["'])/g, "$1.mjs$2"),
    );
  }
  const loaded = {};
  for (const m of modules) {
    if (m.path.startsWith("_deps/")) continue;
    loaded[m.path] = await import(`${pathToFileURL(file(m.path)).href}?v=${seq++}`);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return loaded;
}

/** The real backend returns object validators' fields sorted by name; so does this. */
function sortedValidator(json) {
  if (!json) return json;
  const walk = (x) => {
    if (Array.isArray(x)) return x.map(walk);
    if (!x || typeof x !== "object") return x;
    if (x.type === "object" && x.value && typeof x.value === "object") {
      const value = {};
      for (const k of Object.keys(x.value).sort()) value[k] = { ...x.value[k], fieldType: walk(x.value[k].fieldType) };
      return { ...x, value };
    }
    return Object.fromEntries(Object.entries(x).map(([k, c]) => [k, walk(c)]));
  };
  return JSON.stringify(walk(JSON.parse(json)));
}

function analyzeModule(mod) {
  const functions = [];
  for (const [name, f] of Object.entries(mod)) {
    if (!f || (typeof f !== "function" && typeof f !== "object")) continue;
    const udfType = f.isQuery ? "Query" : f.isMutation ? "Mutation" : f.isAction ? "Action" : null;
    if (!udfType) continue;
    functions.push({
      name,
      pos: null,
      udfType,
      visibility: f.isPublic ? { kind: "public" } : f.isInternal ? { kind: "internal" } : null,
      args: typeof f.exportArgs === "function" ? sortedValidator(f.exportArgs()) : null,
      returns: typeof f.exportReturns === "function" ? sortedValidator(f.exportReturns()) : null,
    });
  }
  return { functions, httpRoutes: null, cronSpecs: null, sourceMapped: null };
}

/** A definition's export tree: its public functions, by module path. */
function exportsTree(functions) {
  const root = {};
  for (const [modulePath, m] of Object.entries(functions)) {
    const parts = modulePath.replace(/\.js$/, "").split("/");
    for (const f of m.functions) {
      if (f.visibility?.kind !== "public") continue;
      let node = root;
      for (const p of parts) node = node[p] ??= {};
      node[f.name] = `_reference/function/${modulePath.replace(/\.js$/, "")}:${f.name}`;
    }
  }
  const serialize = (tree) => ({
    type: "branch",
    branch: Object.entries(tree).map(([k, c]) => [k, typeof c === "string" ? { type: "leaf", leaf: c } : serialize(c)]),
  });
  return serialize(root);
}

async function analyzeDefinition(definitionPath, def) {
  const [config] = Object.values(await loadModules([def.definition], def.dependencies ?? []));
  const meta = config.default.export();
  if (meta.name) defaultNames[definitionPath] = meta.name;
  const modules = await loadModules(def.changedModules ?? def.functions ?? []);
  const functions = {};
  for (const [p, m] of Object.entries(modules)) {
    const analysis = analyzeModule(m);
    if (analysis.functions.length) functions[p] = analysis;
  }
  return {
    definition: {
      path: definitionPath,
      definitionType: meta.definitionType,
      childComponents: meta.childComponents,
      httpMounts: meta.httpMounts ?? {},
      exports: exportsTree(functions),
      envVars: meta.envVars ?? null,
    },
    schema: null,
    functions,
    udfConfig: { serverVersion: def.udfServerVersion, importPhaseRngSeed: null, importPhaseUnixTimestamp: null },
  };
}

async function startPush(request) {
  const analysis = {};
  // Children before parents, so that each one's default name is known to its parent.
  const pending = [...request.componentDefinitions];
  while (pending.length) {
    const i = pending.findIndex((c) => (c.dependencies ?? []).every((d) => d in analysis));
    const [c] = pending.splice(i < 0 ? 0 : i, 1);
    analysis[c.definitionPath] = await analyzeDefinition(c.definitionPath, c);
  }
  analysis[""] = await analyzeDefinition("", request.appDefinition);
  return {
    environmentVariables: {},
    externalDepsId: null,
    componentDefinitionPackages: {},
    appAuth: [],
    analysis,
    app: {
      definitionPath: "",
      componentPath: "",
      args: {},
      childComponents: {},
      httpRoutes: { httpModuleRoutes: null, mounts: [] },
      exports: {},
    },
    schemaChange: { allocatedComponentIds: null, schemaIds: null },
  };
}

const decoders = {
  gzip: zlib.gunzipSync,
  br: zlib.brotliDecompressSync,
  deflate: zlib.inflateSync,
  zstd: zlib.zstdDecompressSync,
};

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", async () => {
    const encoding = req.headers["content-encoding"];
    const reply = (status, body) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      let body = Buffer.concat(chunks);
      if (encoding) {
        const decode = decoders[encoding];
        if (!decode) throw new Error(`unsupported content-encoding ${encoding}`);
        body = decode(body);
      }
      const url = req.url.split("?")[0];
      log(`${req.method} ${url} ${body.length}B${encoding ? ` (${encoding})` : ""}`);
      if (url === "/api/get_config_hashes") {
        reply(200, { config: { functions: "convex/" }, moduleHashes: [], nodeDependencies: [], udfServerVersion: "1.48.0" });
      } else if (url === "/api/deploy2/start_push") {
        reply(200, await startPush(JSON.parse(body.toString("utf8"))));
      } else {
        reply(404, { code: "NotFound", message: `the fake backend does not serve ${url}` });
      }
    } catch (e) {
      log(`ERROR ${e?.stack ?? e}`);
      reply(500, { code: "FakeBackendError", message: String(e) });
    }
  });
});
server.listen(port, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
