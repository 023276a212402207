// convex/convex.config.ts: install callsign's replay store (a Convex component).
import { defineApp } from "convex/server";
import callsign from "convex-callsign/convex.config";

const app = defineApp();
app.use(callsign);
export default app;
