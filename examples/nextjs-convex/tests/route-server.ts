// A Next.js route handler's function (`POST` of app/api/.../route.ts) behind a loopback
// node:http server, as `next start` would serve it: each request becomes a Fetch `Request` on
// the server's own origin, the handler's `Response` goes back as it is. What arrived is kept, so
// a test can send the same bytes again.
import { createServer } from "node:http";

export interface Received {
  method: string;
  target: string;
  headers: [string, string][];
  body: Buffer;
}

export async function serveRoute(handler: (request: Request) => Promise<Response>) {
  const received: Received[] = [];
  const server = createServer(async (req, res) => {
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const headers: [string, string][] = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
      received.push({ method: req.method!, target: req.url!, headers, body });
      const request = new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method,
        headers: headers.filter(([name]) => !["connection", "host", "transfer-encoding", "keep-alive"].includes(name.toLowerCase())),
        body: body.length > 0 ? body : null,
      });
      const response = await handler(request);
      const out = Buffer.from(await response.arrayBuffer());
      res.writeHead(response.status, { ...Object.fromEntries(response.headers), "content-length": out.length });
      res.end(out);
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(String((e as Error)?.stack ?? e));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}
