// Compile-time checks (tsc --noEmit): the signer's args are the function's args. Not run.
import { CallSigner, SignedConvexHttpClient } from "convex-callsign/client";
import { fetchMutation, fetchQuery } from "convex/nextjs";
import type { Id } from "../convex/_generated/dataModel";
import { api, components, internal } from "../convex/_generated/api";

const signer = new CallSigner("csk1_k_00", { audience: "https://x.convex.cloud" });
const client = new SignedConvexHttpClient("https://x.convex.cloud", "csk1_k_00");

export async function checks() {
  const id: Id<"messages"> = await fetchMutation(...signer.signed(api.messages.send, { body: "a", author: "b" }));
  const list: { body: string; author: string }[] = await fetchQuery(...signer.signed(api.messages.list, {}));
  const digest: string = await client.action(api.messages.digest, { title: "t" });
  const open: boolean = await client.runMutation(internal.admin.setOpen, { open: true });
  const stats: { messages: number } = await client.runQuery(internal.admin.stats, {});
  // A function of the customized builder (convex-helpers around cs.signed) is typed too.
  const report: { for: string; counts: Record<string, number> } = await client.query(api.reports.byKey, { limit: 10 });

  // @ts-expect-error a missing arg
  signer.args(api.messages.send, { body: "a" });
  // @ts-expect-error a mistyped arg
  signer.args(api.messages.send, { body: 1, author: "b" });
  // @ts-expect-error internal functions are reached through the gateway, not called directly
  await client.mutation(internal.admin.setOpen, { open: true });
  // @ts-expect-error the gateway runs internal functions only
  await client.runMutation(api.messages.send, { body: "a", author: "b" });
  // @ts-expect-error a query is not a mutation
  await client.mutation(api.messages.list, {});
  // @ts-expect-error the gateway's args are the internal function's
  client.runMutation(internal.admin.setOpen, { open: "yes" });
  // @ts-expect-error the report's args are its own
  client.query(api.reports.byKey, { limit: "ten" });
  // @ts-expect-error the component's functions are the app's to call, not a client's
  client.mutation(components.callsign.store.cleanup, {});
  return { id, list, digest, open, stats, report };
}
