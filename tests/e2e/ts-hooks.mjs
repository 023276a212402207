// Module hooks (node:module register) that let plain Node import a Convex app's TypeScript
// `convex/` folder, for convex-stub.mjs: under `root`, `.ts` files are loaded with their types
// stripped (ts.transpileModule of the app's own `typescript`: no type checking, which the app's
// `tsc` does), and a relative import without an extension (`./_generated/api`, `./callsign`)
// resolves to the `.ts` or `.js` file next to it, as the Convex bundler resolves it.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

let ts;
let root;

/** data: {typescript: file URL of the app's typescript module, root: file URL of convex/}. */
export async function initialize(data) {
  ts = (await import(data.typescript)).default;
  root = data.root.endsWith("/") ? data.root : `${data.root}/`;
}

export async function resolve(specifier, context, next) {
  const parent = context.parentURL;
  if (parent?.startsWith(root) && /^\.\.?\//.test(specifier) && !/\.[cm]?[jt]s$/.test(specifier)) {
    for (const extension of [".ts", ".js"]) {
      const url = new URL(specifier + extension, parent);
      if (existsSync(fileURLToPath(url))) return next(url.href, context);
    }
  }
  return next(specifier, context);
}

export async function load(url, context, next) {
  if (!url.startsWith(root) || !url.endsWith(".ts")) return next(url, context);
  const source = readFileSync(fileURLToPath(url), "utf8");
  const { outputText } = ts.transpileModule(source, {
    fileName: fileURLToPath(url),
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  });
  return { format: "module", source: outputText, shortCircuit: true };
}
