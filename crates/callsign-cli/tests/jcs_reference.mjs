// Reference canonicalization for tests/jcs_property.rs: JSON.parse, then
// JSON.stringify with object keys sorted by UTF-16 code units (the default
// Array.prototype.sort order), i.e. RFC 8785 as JavaScript defines it.
//
// stdin: a JSON array of JSON texts. stdout: the array of their canonical forms.
import { readFileSync } from "node:fs";

function canonical(value) {
  if (Array.isArray(value)) {
    return "[" + value.map(canonical).join(",") + "]";
  }
  if (value !== null && typeof value === "object") {
    // Built by hand: JSON.stringify itself would emit integer-like keys
    // ("2", "10") first and in numeric order.
    const members = Object.keys(value)
      .sort()
      .map((key) => JSON.stringify(key) + ":" + canonical(value[key]));
    return "{" + members.join(",") + "}";
  }
  return JSON.stringify(value);
}

const texts = JSON.parse(readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(texts.map((text) => canonical(JSON.parse(text)))));
