// Deterministic, realistic Convex args of about `bytes` bytes of Convex JSON (UTF-8, as
// `JSON.stringify(convexToJson(args))` writes them): nested objects, arrays, unicode strings,
// Int64 and bytes values, as a Next.js server would send them. Whole items are added while
// they fit, then a `note` string fills up to `bytes` (so ~100 B args are still args, not an
// empty cart). Members are in insertion order, not sorted, as a client sends them.
import { convexToJson } from "convex/values";

const jsonBytes = (value) => Buffer.byteLength(JSON.stringify(convexToJson(value)));

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
  const args = { userId: "user_4f8a9c", action: "checkout", items: [], note: "" };
  // Sizes add up item by item (plus a comma each), so 1 MB args take linear time to build.
  let size = jsonBytes(args);
  for (let i = 0; ; i++) {
    const it = item(i);
    const grow = jsonBytes(it) + (i > 0 ? 1 : 0);
    if (size + grow > bytes) break;
    args.items.push(it);
    size += grow;
  }
  let note = "";
  for (let i = 0; size + Buffer.byteLength(note) < bytes; i++) note += `${words[i % words.length]} `;
  while (size + Buffer.byteLength(note) > bytes && note.length > 0) note = note.slice(0, -1);
  // Never end on half a surrogate pair (the emoji word): args must be valid Unicode.
  if (/[\uD800-\uDBFF]$/.test(note)) note = note.slice(0, -1);
  args.note = note;
  return args;
}
