/**
 * Server-sent events to every open page. Publishing never waits for a browser: each
 * page's response may hold at most CLIENT_BUFFER_BYTES unsent (or one message, if larger); beyond that, messages
 * for that page are dropped, and once its socket drains it gets one fresh snapshot
 * instead of what it missed. A slow, stalled or closed page costs training nothing.
 */
import type { ServerResponse } from 'node:http';

/** Unsent bytes a page may have before its messages are dropped. */
export const CLIENT_BUFFER_BYTES = 256 * 1024;

interface Client {
  readonly res: ServerResponse;
  /** Messages were dropped: the page needs a snapshot once the socket drains. */
  stale: boolean;
  dropped: number;
}

export interface ClientStats {
  /** Bytes written but not yet sent to the page. */
  readonly buffered: number;
  readonly dropped: number;
}

export class EventStream {
  private readonly clients = new Set<Client>();

  /** @param snapshot the whole state, sent to a new page and to one that missed messages */
  constructor(private readonly snapshot: () => unknown) {}

  /** Turns a request's response into an event stream and sends it the state so far. */
  add(res: ServerResponse): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    const client: Client = { res, stale: false, dropped: 0 };
    this.clients.add(client);
    res.on('close', () => this.clients.delete(client));
    res.on('drain', () => {
      if (!client.stale) return;
      client.stale = false;
      this.send(client, frame(this.snapshot()));
    });
    this.send(client, frame(this.snapshot()));
  }

  publish(message: unknown): void {
    if (this.clients.size === 0) return;
    const text = frame(message);
    for (const client of this.clients) this.send(client, text);
  }

  stats(): ClientStats[] {
    return [...this.clients].map((c) => ({ buffered: c.res.writableLength, dropped: c.dropped }));
  }

  /** Ends every stream (the pages keep what they show). */
  close(): void {
    for (const client of this.clients) client.res.end();
    this.clients.clear();
  }

  private send(client: Client, text: string): void {
    const buffered = client.res.writableLength;
    // A page with nothing pending always takes the next message, however large (a snapshot).
    if (client.stale || (buffered > 0 && buffered + Buffer.byteLength(text) > CLIENT_BUFFER_BYTES)) {
      client.stale = true;
      client.dropped++;
      return;
    }
    client.res.write(text);
  }
}

function frame(message: unknown): string {
  return `data: ${JSON.stringify(message)}\n\n`;
}
