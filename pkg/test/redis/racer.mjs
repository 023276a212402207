// One process of the race in redis.test.mjs: verifies one signed request (from the
// environment) 8 times at once through RedisNonceStore, at a shared start time, and prints
// {"accepted":n,"replayed":m}.
import { createClient } from "redis";
import { verifyRequest } from "convex-callsign/client";
import { RedisNonceStore } from "convex-callsign/stores";

const { CALLSIGN_REDIS_URL: url, RACE_PREFIX: prefix, RACE_START_AT: startAt, RACE_REQUEST: json } = process.env;
const { keys, audience, target, headers, body } = JSON.parse(json);
// Two connections, so that this process's verifications also race each other.
const clients = await Promise.all([0, 1].map(() => createClient({ url }).connect()));
const stores = clients.map((c) => new RedisNonceStore(c, { prefix }));
while (Date.now() < Number(startAt)) await new Promise((r) => setTimeout(r, 1));
const outcomes = await Promise.all(
  Array.from({ length: 8 }, (_, i) =>
    verifyRequest(new Request(`${audience}${target}`, { method: "POST", headers, body }), {
      keys,
      audience,
      store: stores[i % 2],
    }).then(
      () => "accepted",
      (e) => e.code,
    ),
  ),
);
const count = (o) => outcomes.filter((x) => x === o).length;
console.log(JSON.stringify({ accepted: count("accepted"), replayed: count("replayed"), other: outcomes.length - count("accepted") - count("replayed") }));
await Promise.all(clients.map((c) => c.quit()));
