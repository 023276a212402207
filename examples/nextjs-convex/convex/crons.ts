import { cronJobs } from "convex/server";
import { internal } from "./_generated/api";

const crons = cronJobs();

// Nonces are kept only while their call could still be accepted; drop the rest, in batches.
crons.interval("callsign: drop expired nonces", { minutes: 10 }, internal.callsign.cleanupNonces, {});

export default crons;
