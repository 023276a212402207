"use server";
// A server action: the browser posts a form, this server signs the call and Convex accepts it.
// A server action is a public endpoint, so it checks the visitor before signing: without that
// check it would sign `messages:send` for anyone who loads the page (see lib/auth.ts).
import { fetchMutation } from "convex/nextjs";
import { revalidatePath } from "next/cache";
import { api } from "@/convex/_generated/api";
import { visitorAllowed } from "@/lib/auth";
import { callsign } from "@/lib/callsign";
import { postThroughHttpAction } from "@/lib/convex-site";

export async function postMessage(form: FormData): Promise<void> {
  if (!(await visitorAllowed())) throw new Error("sign in to post");
  const body = String(form.get("body") ?? "").trim();
  if (body === "") return;
  await fetchMutation(...callsign().signed(api.messages.send, { body, author: "next.js" }));
  revalidatePath("/");
}

/** The same, through the deployment's signed HTTP action (convex/http.ts) with signedFetch. */
export async function postMessageOverHttp(form: FormData): Promise<void> {
  if (!(await visitorAllowed())) throw new Error("sign in to post");
  const body = String(form.get("body") ?? "").trim();
  if (body === "") return;
  await postThroughHttpAction({ body, author: "next.js (http action)" });
  revalidatePath("/");
}
