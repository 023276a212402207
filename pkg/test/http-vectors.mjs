// Runs tests/vectors/http.json (format in tests/vectors/README.md) through the package: the
// signer's headers (RequestSigner), every case and sequence through RequestVerifier with the
// headers exactly as listed (repeats as separate pairs), and, where a Fetch `Request` can carry
// the case unchanged, through `verifyRequest` of convex-callsign/client too. Shared by the Node
// test (http.test.mjs) and the Deno test (deno/http.test.mjs).
//
// `lib` is the package's root, `client` its /client subpath, `stores` its /stores subpath;
// `load(name)` returns a vector file's parsed JSON. Returns { counts, failures }.

const MIN = { signing: 7, signing_invalid: 10, cases: 100, steps: 10, fetch: 60 };

/** `body` (text) or `body_hex` (bytes) of a case. */
function bodyOf(c) {
  if (c.body_hex !== undefined) return Uint8Array.from(c.body_hex.match(/../g) ?? [], (h) => parseInt(h, 16));
  return new TextEncoder().encode(c.body);
}

/**
 * The case as a Fetch `Request`, or null when a `Request` would change it: a method Fetch
 * normalizes, a target that `new URL` rewrites, a header `Headers` refuses, a GET with a body. The
 * request's URL is another origin (as in Next.js, `http://localhost:3000`): the verifier must use
 * its own audience, not the request's.
 */
function asFetchRequest(c) {
  const body = bodyOf(c);
  if (!/^[A-Z]+$/.test(c.method) || (["GET", "HEAD"].includes(c.method) && body.length > 0)) return null;
  let url;
  try {
    url = new URL(c.target, "http://localhost:3000");
  } catch {
    return null;
  }
  const target = url.pathname + url.search;
  if (target !== c.target && !(c.target.endsWith("?") && target === c.target.slice(0, -1))) return null;
  if (!c.target.startsWith("/")) return null;
  try {
    const headers = new Headers();
    for (const [name, value] of c.headers) headers.append(name, value);
    return new Request(url, { method: c.method, headers, body: body.length > 0 ? body : null });
  } catch {
    return null;
  }
}

export async function runHttpVectors(lib, client, stores, load) {
  const doc = load("http.json");
  const failures = [];
  const counts = {};
  const count = (k) => (counts[k] = (counts[k] ?? 0) + 1);
  const fail = (what, msg) => failures.push(`${what}: ${msg}`);

  /** Checks an outcome against `c.verified` or `c.error`. */
  async function expect(what, c, run) {
    let claims;
    try {
      claims = await run();
    } catch (e) {
      if (!(e instanceof lib.CallsignError)) return fail(what, `threw a non-CallsignError: ${e?.stack ?? e}`);
      if (c.error !== e.code) fail(what, `got ${e.code}: ${e.message}, want ${c.error ?? "success"}`);
      return;
    }
    if (c.error !== undefined) return fail(what, `want ${c.error}, got ${JSON.stringify(claims)}`);
    const want = c.verified;
    const got = {
      kid: claims.kid, ts: claims.ts, nonce: claims.nonce, remember_until: claims.rememberUntil,
      method: claims.method, path: claims.path, query: claims.query,
    };
    const same = Object.keys(want).length === 7 && Object.entries(got).every(([k, v]) => want[k] === v);
    if (!same) fail(what, `claims ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  const settings = (c) => ({
    audience: c.audience,
    window: { maxAgeMs: c.window.max_age_ms, maxFutureMs: c.window.max_future_ms },
    maxBodyBytes: c.max_body_bytes,
  });
  const raw = (c) => ({ method: c.method, target: c.target, headers: c.headers, body: bodyOf(c) });

  for (const c of doc.signing) {
    count("signing");
    const what = `signing ${c.name}`;
    try {
      const headers = new lib.RequestSigner(c.key, { audience: c.audience })
        .sign(c.method, c.target, bodyOf(c), { now: c.now, nonce: c.nonce });
      const got = Object.entries(headers);
      if (JSON.stringify(got) !== JSON.stringify(c.headers)) fail(what, `headers ${JSON.stringify(got)}`);
    } catch (e) {
      fail(what, `${e.code}: ${e.message}`);
    }
  }
  for (const c of doc.signing_invalid) {
    count("signing_invalid");
    await expect(`signing_invalid ${c.name}`, c, () =>
      new lib.RequestSigner(c.key, { audience: c.audience }).sign(c.method, c.target, bodyOf(c), {
        now: c.now,
        nonce: c.nonce,
      }),
    );
  }
  for (const c of doc.cases) {
    count("cases");
    await expect(`cases ${c.name}`, c, () =>
      new lib.RequestVerifier(c.keys, settings(c)).verifyOnce(new stores.MemoryNonceStore(), raw(c), { now: c.now }),
    );
    const request = asFetchRequest(c);
    if (request === null) continue;
    count("fetch");
    await expect(`cases (as a Fetch Request) ${c.name}`, c, () =>
      client.verifyRequest(request, { keys: c.keys, ...settings(c), store: new stores.MemoryNonceStore(), now: c.now }),
    );
  }
  for (const s of doc.sequences) {
    const store = new stores.MemoryNonceStore();
    const fetchStore = new stores.MemoryNonceStore();
    for (const [i, step] of s.steps.entries()) {
      count("steps");
      const what = `sequence ${s.name} step ${i + 1}`;
      await expect(what, step, () =>
        new lib.RequestVerifier(step.keys, settings(step)).verifyOnce(store, raw(step), { now: step.now }),
      );
      const request = asFetchRequest(step);
      if (request === null) continue;
      count("fetch");
      await expect(`${what} (as a Fetch Request)`, step, () =>
        client.verifyRequest(request, { keys: step.keys, ...settings(step), store: fetchStore, now: step.now }),
      );
    }
  }
  for (const [k, min] of Object.entries(MIN)) {
    if (!((counts[k] ?? 0) >= min)) fail(`${k} vectors`, `ran ${counts[k] ?? 0}, expected at least ${min}`);
  }
  return { counts, failures };
}
