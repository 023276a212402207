// The app's components: callsign's replay store (accepted nonces, their cleanup and its cron).
import { defineApp } from "convex/server";
import callsign from "convex-callsign/convex.config";

const app = defineApp();
app.use(callsign);

export default app;
