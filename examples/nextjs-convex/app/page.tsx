// Rendered on the server: the signed query runs with this server's key; the browser only
// ever sees the result.
import { fetchQuery } from "convex/nextjs";
import { api } from "@/convex/_generated/api";
import { callsign } from "@/lib/callsign";
import { postMessage, postMessageOverHttp } from "./actions";

export const dynamic = "force-dynamic";

export default async function Home() {
  const messages = await fetchQuery(...callsign().signed(api.messages.list, { limit: 20 }));
  return (
    <main>
      <h1>Signed messages</h1>
      <form action={postMessage}>
        <input name="body" placeholder="Say something" />
        <button type="submit">Post</button>
        <button formAction={postMessageOverHttp}>Post through the HTTP action</button>
      </form>
      <ul>
        {messages.map((m, i) => (
          <li key={i}>
            {m.body} <small>({m.author})</small>
          </li>
        ))}
      </ul>
    </main>
  );
}
