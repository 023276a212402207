// The replay store as a Convex component. An app installs it with
//   import callsign from "convex-callsign/convex.config";
//   app.use(callsign);
// and reaches its functions as `components.callsign` (pass that to `new Callsign(...)`).
import { defineComponent } from "convex/server";

export default defineComponent("callsign");
