// The long run of the encoder's differential test (see encoder-fuzz.mjs):
//   npm run diff:encoder -- 100000 [seed]
import { differential, loadEncoder, values } from "./encoder-fuzz.mjs";

const count = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 1);
const mod = await loadEncoder();
const t = performance.now();
const counts = differential(mod, values(count, seed));
const total = Object.values(counts).reduce((a, b) => a + b, 0);
console.log(
  `encoder differential: ${total} values (${count} fuzzed from seed ${seed}, plus the fixed cases) in ` +
    `${((performance.now() - t) / 1000).toFixed(1)} s, no difference: ${JSON.stringify(counts)}`,
);
