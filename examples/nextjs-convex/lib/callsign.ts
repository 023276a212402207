// Server-only: the key never reaches the browser. CALLSIGN_KEY is a root key or one derived
// for this deployment; the audience defaults to NEXT_PUBLIC_CONVEX_URL (the deployment
// fetchQuery/fetchMutation call), which must equal the deployment's CONVEX_CLOUD_URL.
import "server-only";
import { CallSigner } from "convex-callsign/client";

let signer: CallSigner | undefined;

/** The app's signer, built on first use (so a missing key fails the request, not the build). */
export function callsign(): CallSigner {
  signer ??= new CallSigner();
  return signer;
}
