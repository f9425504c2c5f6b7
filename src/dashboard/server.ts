/**
 * The dashboard's HTTP server: the page, echarts, the run's state and its live
 * events. Read-only: GET and HEAD only, and no route changes
 * the run. It binds to 127.0.0.1 unless told otherwise, and then answers only requests
 * addressed to that name (so a web page elsewhere cannot reach it by DNS rebinding).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { UsageError } from '../errors.js';
import { DASHBOARD_PAGE_DIR, ECHARTS_BROWSER_BUILD } from '../paths.js';
import type { TrainEvent } from '../train/events.js';
import { EventStream, type ClientStats } from './event-stream.js';
import type { RunStatus, RunView } from './run-view.js';
import { readStaticFile } from './static-files.js';

export const DEFAULT_HOST = '127.0.0.1';
/** How long closing waits for pages to receive the last messages. */
const CLOSE_GRACE_MS = 1000;

export interface DashboardOptions {
  readonly view: RunView;
  readonly host?: string;
  /** 0 (the default): any free port. */
  readonly port?: number;
}

export interface Dashboard {
  readonly url: string;
  /** Passes a train event to the view and to every open page. */
  publish(event: TrainEvent): void;
  /** The run ended: pages are told, and keep what they show. */
  finish(status: RunStatus, message?: string): void;
  /** Per open event stream, what is buffered and how many messages were dropped. */
  clients(): ClientStats[];
  close(): Promise<void>;
}

const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'",
};

export async function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const { view } = opts;
  const host = opts.host ?? DEFAULT_HOST;
  const stream = new EventStream(() => view.snapshot());
  const echarts = await readFile(ECHARTS_BROWSER_BUILD);
  let allowedHosts: ReadonlySet<string> = new Set();

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => reply(res, 500, `internal error: ${(error as Error).message}`));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'read-only: GET and HEAD only', { Allow: 'GET, HEAD' });
    if (allowedHosts.size > 0 && !allowedHosts.has(req.headers.host ?? '')) return reply(res, 421, 'unknown host name');
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/') return sendStatic(req, res, '/index.html');
    if (path === '/favicon.ico') return reply(res, 204, '');
    if (path === '/vendor/echarts.min.js') return send(req, res, 200, 'text/javascript; charset=utf-8', echarts);
    if (path === '/api/state') return send(req, res, 200, 'application/json', Buffer.from(JSON.stringify(view.snapshot())));
    if (path === '/api/events') return req.method === 'HEAD' ? reply(res, 200, '') : stream.add(res);
    if (path.startsWith('/static/')) return sendStatic(req, res, path.slice('/static'.length));
    return reply(res, 404, 'no such page');
  }

  async function sendStatic(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const file = await readStaticFile(DASHBOARD_PAGE_DIR, path);
    if (file.status !== 200) return reply(res, file.status, file.reason);
    send(req, res, 200, file.type, file.body);
  }

  const port = opts.port ?? 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new UsageError(
          `cannot serve the dashboard on ${host}:${port}: ${error.code ?? error.message}`,
          'Give another --dashboard-port, or leave it out to take any free port.',
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  const name = host.includes(':') ? `[${host}]` : host;
  if (host === DEFAULT_HOST || host === 'localhost' || host === '::1') {
    allowedHosts = new Set([`${name}:${bound}`, `localhost:${bound}`, `127.0.0.1:${bound}`, `[::1]:${bound}`]);
  }

  return {
    url: `http://${name}:${bound}/`,
    publish: (event) => view.apply(event).forEach((m) => stream.publish(m)),
    finish: (status, message) => view.finish(status, message).forEach((m) => stream.publish(m)),
    clients: () => stream.stats(),
    close: async () => {
      // Ended streams still flush what pages have not received; a page that stopped reading gets a moment, no more.
      stream.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const stalled = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      await closed;
      clearTimeout(stalled);
    },
  };
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': body.length, 'Cache-Control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function reply(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = Buffer.from(text === '' ? '' : `${text}\n`);
  res.writeHead(status, { ...SECURITY_HEADERS, ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
}
