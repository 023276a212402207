// The router of the http.json vector test (http.test.ts swaps it in for http.js): every path
// and method to one signed HTTP action, built for the case's window and size limit, which the
// test names in CALLSIGN_TEST_HTTP_SETTINGS. (A route's options are fixed where it is defined;
// the vectors vary them per case.)
import { httpActionGeneric, httpRouter } from "convex/server";
import { cs } from "./callsign.js";
import { echo } from "./http.js";

const actions = new Map();

const dispatch = httpActionGeneric(async (ctx, request) => {
  const settings = process.env.CALLSIGN_TEST_HTTP_SETTINGS ?? "{}";
  let action = actions.get(settings);
  if (action === undefined) {
    action = cs.httpAction(echo, JSON.parse(settings));
    actions.set(settings, action);
  }
  // Runs the registered handler as convex-test itself does (its getHandler).
  return await action._handler(ctx, request);
});

const http = httpRouter();
for (const method of ["POST", "PUT", "GET", "PATCH", "DELETE"]) {
  http.route({ pathPrefix: "/", method, handler: dispatch });
}
export default http;
