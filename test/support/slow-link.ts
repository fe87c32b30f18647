/**
 * A TCP link to a server that delays what the server sends back by a fixed time (order kept), as
 * a far-away server would: a result backend whose every reply takes `delayMs`, with no change to
 * the server or the client under test.
 */
import { createConnection, createServer } from "node:net";
import type { Socket } from "node:net";

/** A running slow link: connect to 127.0.0.1:`port` instead of the server. */
export interface SlowLink {
  port: number;
  close(): Promise<void>;
}

/** Listen on an ephemeral port; each connection is forwarded to `target` (host:port), replies `delayMs` late. */
export async function startSlowLink(target: { host: string; port: number }, delayMs: number): Promise<SlowLink> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(target);
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    upstream.on("data", (chunk: Buffer) => void setTimeout(() => client.writable && client.write(chunk), delayMs));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", () => setTimeout(end, delayMs)).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("slow link: no port");
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
