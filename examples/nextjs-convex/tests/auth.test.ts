// The checks that keep this server from being an open signing relay (lib/auth.ts).
import { afterEach, expect, test } from "vitest";
import { callerAllowed, visitorAllowed } from "../lib/auth";

const TOKEN = "t".repeat(40);

afterEach(() => {
  delete process.env.ALLOW_ANONYMOUS_POSTS;
});

test("a route handler's caller needs the bearer token; without one configured, nobody passes", () => {
  expect(callerAllowed(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
  for (const header of [null, "", TOKEN, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `bearer ${TOKEN}`]) {
    expect(callerAllowed(header, TOKEN)).toBe(false);
  }
  expect(callerAllowed("Bearer ", "")).toBe(false);
  expect(callerAllowed(`Bearer ${"s".repeat(8)}`, "s".repeat(8))).toBe(false); // too short to be a secret
  expect(callerAllowed(`Bearer ${TOKEN}`, undefined)).toBe(false);
});

test("the server action signs for nobody unless the example is opened up on purpose", async () => {
  expect(await visitorAllowed()).toBe(false);
  process.env.ALLOW_ANONYMOUS_POSTS = "1";
  expect(await visitorAllowed()).toBe(true);
});
