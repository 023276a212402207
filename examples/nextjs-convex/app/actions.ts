"use server";
// A server action: the browser posts a form, this server signs the call and Convex accepts it.
import { fetchMutation } from "convex/nextjs";
import { revalidatePath } from "next/cache";
import { api } from "@/convex/_generated/api";
import { callsign } from "@/lib/callsign";

export async function postMessage(form: FormData): Promise<void> {
  const body = String(form.get("body") ?? "").trim();
  if (body === "") return;
  await fetchMutation(...callsign().signed(api.messages.send, { body, author: "next.js" }));
  revalidatePath("/");
}
