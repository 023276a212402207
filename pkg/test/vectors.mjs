// Runs every shared vector (tests/vectors/*.json, format in tests/vectors/README.md)
// through the package's public API. Shared by the Node test (vectors.test.mjs), the Deno
// test (deno/vectors.test.mjs) and a Convex action under convex-test (convex/vectors.js),
// so all three runtimes check exactly the same things.
//
// `lib` is the imported package; `convex` is `convex/values` (for the Convex-value API);
// `load(name)` returns a vector file's parsed JSON (the runtimes read files differently).
// Returns { counts: {group: n}, failures: [string] }.

/** `case[field]`, or the expansion of `case[field + "_repeat"]`. */
function textOrRepeat(c, field) {
  if (typeof c[field] === "string") return c[field];
  const r = c[`${field}_repeat`];
  if (!r) throw new Error(`case ${c.name} has no ${field}`);
  return r.prefix + r.unit.repeat(r.count) + r.suffix;
}

/** A case's limits, in the package's spelling. */
const limitsOf = (c) => ({ maxBytes: c.limits.max_bytes, maxDepth: c.limits.max_depth });

// The files only grow: fewer cases than this means a runner silently skipped a group.
const MIN_COUNTS = { canonical: 272, keys: 82, signing: 60, verify: 136 };

export function runVectors(lib, convex, load) {
  const failures = [];
  const counts = {};
  const count = (group) => (counts[group] = (counts[group] ?? 0) + 1);
  const fail = (what, msg) => failures.push(`${what}: ${msg}`);

  /** Runs f; checks it throws a CallsignError with `code`, or returns a value when code is null. */
  function outcome(what, f, code) {
    let value;
    try {
      value = f();
    } catch (e) {
      if (!(e instanceof lib.CallsignError)) {
        fail(what, `threw a non-CallsignError: ${e?.stack ?? e}`);
      } else if (code === null) {
        fail(what, `expected success, got ${e.code}: ${e.message}`);
      } else if (e.code !== code) {
        fail(what, `expected ${code}, got ${e.code}: ${e.message}`);
      }
      return undefined;
    }
    if (code !== null) fail(what, `expected ${code}, got success: ${JSON.stringify(value)}`);
    return value;
  }
  const same = (what, got, want) => {
    if (got !== want) fail(what, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  };

  // --- canonical.json -----------------------------------------------------------------
  const canonical = load("canonical.json");
  for (const c of canonical.valid) {
    const what = `canonical.valid ${c.name}`;
    count("canonical");
    const got = outcome(
      what,
      () => lib.canonicalize(textOrRepeat(c, "input"), limitsOf(c)),
      null,
    );
    if (got !== undefined) same(what, got, c.canonical);
  }
  for (const c of canonical.invalid) {
    const what = `canonical.invalid ${c.name}`;
    count("canonical");
    if (c.input_hex !== undefined) {
      // A string API cannot receive non-UTF-8 bytes: check that they are not UTF-8.
      const bytes = Uint8Array.from(c.input_hex.match(/../g) ?? [], (h) => parseInt(h, 16));
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes);
        fail(what, "input_hex decodes as UTF-8");
      } catch {
        // expected
      }
      continue;
    }
    outcome(
      what,
      () => lib.canonicalize(textOrRepeat(c, "input"), limitsOf(c)),
      c.error,
    );
  }

  // --- keys.json ----------------------------------------------------------------------
  const keys = load("keys.json");
  for (const c of keys.valid) {
    const what = `keys.valid ${c.name}`;
    count("keys");
    const info = outcome(what, () => lib.inspectKey(c.key), null);
    if (info) {
      same(`${what} kid`, info.kid, c.kid);
      // SPEC §6.5: a bound audience is shown by length and fingerprint, never as text.
      const audience = c.audience === null ? null : { bytes: c.audience.length, fingerprint: c.audience_fingerprint };
      same(`${what} audience`, JSON.stringify(info.audience), JSON.stringify(audience));
      same(`${what} root`, info.root, c.audience === null);
    }
  }
  for (const c of keys.invalid) {
    count("keys");
    outcome(`keys.invalid ${c.name}`, () => lib.inspectKey(c.key), c.error);
  }
  for (const c of keys.derive) {
    const what = `keys.derive ${c.name}`;
    count("keys");
    const got = outcome(what, () => lib.deriveKey(c.root, c.audience), null);
    if (got !== undefined) same(what, got, c.derived);
  }
  for (const c of keys.keysets) {
    const what = `keys.keysets ${c.name}`;
    count("keys");
    const got = outcome(what, () => lib.inspectKeySet(c.keys), c.error ?? null);
    if (got !== undefined) same(what, JSON.stringify(got), JSON.stringify(c.kids));
  }

  // --- signing.json -------------------------------------------------------------------
  const signing = load("signing.json");
  for (const c of signing.cases) {
    const what = `signing.cases ${c.name}`;
    count("signing");
    const options = { audience: c.audience, limits: limitsOf(c), envelopeField: c.envelope_field };
    const signer = outcome(what, () => new lib.Signer(c.key, options), null);
    if (!signer) continue;
    const opts = { now: c.ts, nonce: c.nonce };
    const signed = outcome(what, () => signer.signJson(c.function, c.args, opts), null);
    if (signed !== undefined) same(`${what} signed_args`, signed, c.signed_args);

    // The Convex-value API: the same args as values sign to the same signature.
    const values = convex.jsonToConvex(JSON.parse(c.args));
    const asValues = outcome(what, () => signer.sign(c.function, values, opts), null);
    if (asValues) same(`${what} sig (values)`, asValues[c.envelope_field].sig, c.sig);

    // Every case verifies at now = ts.
    const verifier = outcome(what, () => new lib.Verifier(c.key, options), null);
    const claims =
      verifier && outcome(what, () => verifier.verifyJson(c.function, c.signed_args, { now: c.ts }), null);
    if (claims) {
      same(`${what} verified function`, claims.function, c.canonical_function);
      same(`${what} verified canonical_args`, claims.canonicalArgs, c.canonical_args);
      same(`${what} verified nonce`, claims.nonce, c.nonce);
      same(`${what} verified ts`, claims.ts, c.ts);
    }
    if (asValues && verifier) {
      outcome(`${what} (values) verifies`, () => verifier.verify(c.function, asValues, { now: c.ts }), null);
    }
  }
  for (const c of signing.invalid) {
    const what = `signing.invalid ${c.name}`;
    count("signing");
    outcome(
      what,
      () =>
        new lib.Signer(c.key, {
          audience: c.audience,
          limits: limitsOf(c),
          envelopeField: c.envelope_field,
        }).signJson(c.function, c.args, { now: c.ts, nonce: c.nonce }),
      c.error,
    );
  }
  {
    const key = signing.cases[0].key;
    const audience = signing.cases[0].audience;
    const signer = new lib.Signer(key, { audience });
    const verifier = new lib.Verifier(key, { audience });
    const now = 1_700_000_000_000;
    for (const c of signing.functions) {
      const what = `signing.functions ${c.name}`;
      count("signing");
      const signed = outcome(what, () => signer.signJson(c.input, "{}", { now }), c.error ?? null);
      if (signed === undefined) continue;
      const claims = outcome(what, () => verifier.verifyJson(c.input, signed, { now }), null);
      if (claims) same(what, claims.function, c.canonical);
    }
  }

  // --- verify.json --------------------------------------------------------------------
  const verify = load("verify.json");
  /**
   * A replay store with SPEC §8's rules: records forgotten once `ts + retention < now`, the
   * retention being the longest window accepted; pairs signed at or before the latest
   * forgotten ts (the watermark) refused whatever the window.
   */
  const newStore = () => ({ held: new Map(), watermarkTs: null, retentionMs: 0 });
  function remember(store, claims, now) {
    for (const [id, ts] of store.held) {
      if (ts + store.retentionMs < now) {
        store.held.delete(id);
        store.watermarkTs = Math.max(store.watermarkTs ?? ts, ts);
      }
    }
    const id = `${claims.kid} ${claims.nonce}`;
    if ((store.watermarkTs !== null && claims.ts <= store.watermarkTs) || store.held.has(id)) {
      throw new lib.CallsignError("replayed", `nonce ${claims.nonce} seen or forgotten`);
    }
    store.held.set(id, claims.ts);
    store.retentionMs = Math.max(store.retentionMs, claims.rememberUntil - claims.ts);
  }
  /** verify + remember in `store`, like Verifier::verify_once. */
  function verifyOnce(c, store) {
    const verifier = new lib.Verifier(c.keys, {
      audience: c.audience,
      window: { maxAgeMs: c.window.max_age_ms, maxFutureMs: c.window.max_future_ms },
      limits: limitsOf(c),
      envelopeField: c.envelope_field,
    });
    const claims = verifier.verifyJson(c.function, textOrRepeat(c, "signed_args"), {
      now: c.now,
    });
    remember(store, claims, c.now);
    return claims;
  }
  function checkVerified(what, c, store) {
    const claims = outcome(what, () => verifyOnce(c, store), c.error ?? null);
    if (!claims || !c.verified) return; // an unexpected success is already a failure
    const want = c.verified;
    same(`${what} kid`, claims.kid, want.kid);
    same(`${what} function`, claims.function, want.function);
    same(`${what} ts`, claims.ts, want.ts);
    same(`${what} nonce`, claims.nonce, want.nonce);
    same(`${what} remember_until`, claims.rememberUntil, want.remember_until);
    same(`${what} canonical_args`, claims.canonicalArgs, want.canonical_args);
  }
  for (const c of verify.cases) {
    count("verify");
    checkVerified(`verify.cases ${c.name}`, c, newStore());
  }
  for (const s of verify.sequences) {
    count("verify");
    const store = newStore();
    s.steps.forEach((step, i) => checkVerified(`verify.sequences ${s.name} step ${i + 1}`, step, store));
  }

  for (const [group, min] of Object.entries(MIN_COUNTS)) {
    if (!((counts[group] ?? 0) >= min)) fail(`${group} vectors`, `ran ${counts[group] ?? 0}, expected at least ${min}`);
  }
  return { counts, failures };
}
