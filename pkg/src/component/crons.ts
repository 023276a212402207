// The component drops expired nonces by itself: the app schedules nothing.
import { cronJobs } from "convex/server";
import { api } from "./_generated/api.js";

const crons = cronJobs();

crons.interval("callsign: drop expired nonces", { minutes: 10 }, api.store.cleanup, {});

export default crons;
