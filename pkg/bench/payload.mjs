// Deterministic, realistic Convex args of about `bytes` bytes of Convex JSON: nested objects,
// arrays, unicode strings, Int64 and bytes values, as a Next.js server would send them.
export function payload(bytes) {
  let seed = 0x9e3779b9;
  const next = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const words = ["hello", "wörld", "naïve", "東京", "emoji \u{1F600}", "plain", "convex", "signed"];
  const item = (i) => ({
    id: `item_${i}`,
    title: `${words[i % words.length]} ${words[(i * 7) % words.length]}`,
    price: Math.round(next() * 10000) / 100,
    qty: BigInt(Math.floor(next() * 1e6)),
    tags: [words[i % 3], words[(i + 1) % 5]],
    flags: { active: next() > 0.5, archived: false },
    blob: new Uint8Array([i & 255, (i * 3) & 255, 7, 9]).buffer,
  });
  const args = { userId: "user_4f8a9c", action: "checkout", items: [] };
  const size = () => JSON.stringify(args, (_k, v) => (typeof v === "bigint" ? "0".repeat(12) : v)).length;
  while (size() < bytes) args.items.push(item(args.items.length));
  return args;
}
