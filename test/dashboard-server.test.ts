/**
 * The dashboard server without a browser: only files of the page folder are served
 * (traversal refused in every spelling), nothing changes the run, and a page that stops
 * reading neither holds up publishing nor makes the server queue without bound.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CLIENT_BUFFER_BYTES } from '../src/dashboard/event-stream.js';
import { PROGRESS_EVERY_MS, RunView } from '../src/dashboard/run-view.js';
import { startDashboard, type Dashboard } from '../src/dashboard/server.js';
import { readStaticFile } from '../src/dashboard/static-files.js';
import type { CheckpointEvent, EpochEvent, ProgressEvent, StartEvent } from '../src/train/events.js';
import { freshDirs } from './helpers/temp-dirs.js';

const fresh = freshDirs('corefit-dashboard-');

interface Reply {
  readonly status: number;
  readonly body: string;
}

/** One request with the path exactly as given (no client-side normalization). */
function get(url: string, path: string, opts: { method?: string; host?: string } = {}): Promise<Reply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: opts.method ?? 'GET', headers: opts.host === undefined ? {} : { Host: opts.host } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => (body += s));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A message of about 8 kB, so that the stream outgrows the kernel's socket buffers quickly. */
function bulky(step: number): CheckpointEvent {
  return checkpointAt(step, 'x'.repeat(8000));
}

function checkpointAt(step: number, dir = 'out'): CheckpointEvent {
  return { type: 'checkpoint', dir, epoch: 1, step };
}

let dashboard: Dashboard | undefined;
afterEach(async () => {
  await dashboard?.close();
  dashboard = undefined;
});

describe('static files', () => {
  it('serves the page and refuses every spelling of a path out of its folder', async () => {
    dashboard = await startDashboard({ view: new RunView() });
    const ok = await get(dashboard.url, '/static/dashboard.js');
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('EventSource');
    expect((await get(dashboard.url, '/')).body).toContain('<title>corefit dashboard</title>');
    const escapes = [
      '/static/../package.json',
      '/static/../../package.json',
      '/static/%2e%2e/package.json',
      '/static/%2E%2E/%2E%2E/package.json',
      '/static/..%2fpackage.json',
      '/static/..%2F..%2Fpackage.json',
      '/static/%2e%2e%2f%2e%2e%2fpackage.json',
      '/static/.%2e/package.json',
      '/static/..%5c..%5cpackage.json',
      '/static/..\\..\\package.json',
      '/static/%252e%252e/package.json',
      '/static/dashboard.js%00.png',
      '/static/%c0%ae%c0%ae/package.json',
      '/static//etc/passwd',
      '/static/%2fetc%2fpasswd',
      '/static/.hidden.js',
      '/static/%e0%a4%a',
      '/../../package.json',
      '/static/run-view.ts',
      '/static/../server.js',
    ];
    for (const path of escapes) {
      const reply = await get(dashboard.url, path);
      expect([400, 404], path).toContain(reply.status);
      expect(reply.body, path).not.toContain('"name"');
      expect(reply.body, path).not.toContain('root:');
    }
  });

  it('does not follow a symbolic link out of the folder', async () => {
    const root = fresh();
    const outside = fresh();
    await mkdir(root, { recursive: true });
    await mkdir(outside, { recursive: true });
    await writeFile(join(outside, 'secret.js'), 'secret');
    await writeFile(join(root, 'inside.js'), 'inside');
    await symlink(join(outside, 'secret.js'), join(root, 'link.js'));
    await symlink(outside, join(root, 'dir'));
    expect(await readStaticFile(root, '/inside.js')).toMatchObject({ status: 200 });
    expect(await readStaticFile(root, '/link.js')).toMatchObject({ status: 404 });
    expect(await readStaticFile(root, '/dir/secret.js')).toMatchObject({ status: 404 });
  });
});

describe('read-only', () => {
  it('answers only GET and HEAD, and only to its own host name', async () => {
    dashboard = await startDashboard({ view: new RunView() });
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      expect((await get(dashboard.url, '/api/state', { method })).status, method).toBe(405);
    }
    expect((await get(dashboard.url, '/api/state', { method: 'HEAD' })).status).toBe(200);
    // DNS rebinding: a foreign name that resolves to 127.0.0.1 is not this server's page.
    expect((await get(dashboard.url, '/api/state', { host: 'attacker.example:80' })).status).toBe(421);
  });
});

describe('event stream', () => {
  it('drops messages for a page that stops reading, keeps serving one that reads, and resyncs the slow one when it reads again', async () => {
    dashboard = await startDashboard({ view: new RunView() });
    const { port } = new URL(dashboard.url);
    // A page that asks for events and then reads nothing.
    const stalled = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => stalled.once('connect', () => resolve()));
    stalled.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    stalled.pause();
    // A page that reads everything.
    let reading = '';
    const reader = request({ hostname: '127.0.0.1', port, path: '/api/events' }, (res) => res.setEncoding('utf8').on('data', (s: string) => (reading += s)));
    reader.end();
    while (dashboard.clients().length < 2) await new Promise((r) => setTimeout(r, 10));

    // Publish far more (80 MB) than the socket buffers and the per-page limit can hold.
    const messages = 10_000;
    let maxBuffered = 0;
    for (let i = 1; i <= messages; i++) {
      dashboard.publish(bulky(i));
      for (const c of dashboard.clients()) maxBuffered = Math.max(maxBuffered, c.buffered);
      if (i % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    while (!reading.includes(`"step":${messages}}`)) await new Promise((r) => setTimeout(r, 10));
    const stats = dashboard.clients();
    const slow = stats.find((c) => c.dropped > 0);
    expect(slow, 'the stalled page had messages dropped').toBeDefined();
    expect(stats.filter((c) => c.dropped > 0)).toHaveLength(1);
    // Bounded: the limit plus at most one message.
    expect(maxBuffered).toBeLessThanOrEqual(CLIENT_BUFFER_BYTES + 9000);
    // The reading page got every message, in order.
    const steps = [...reading.matchAll(/"epoch":1,"step":(\d+)}/g)].map((m) => Number(m[1]));
    expect(steps).toEqual(Array.from({ length: messages }, (_, i) => i + 1));

    // The stalled page reads again: after what was buffered, it gets a fresh snapshot holding the latest state.
    let late = '';
    stalled.setEncoding('utf8').on('data', (s: string) => (late += s));
    stalled.resume();
    while (!late.includes(`"epoch":1,"step":${messages}},"pictures"`)) await new Promise((r) => setTimeout(r, 10));
    expect(late.split('"type":"snapshot"').length - 1).toBe(2);
    stalled.destroy();
    reader.destroy();
  });

  it('forgets a page that closed, and publishing goes on', async () => {
    dashboard = await startDashboard({ view: new RunView() });
    const { port } = new URL(dashboard.url);
    const page = connect(Number(port), '127.0.0.1');
    page.write(`GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
    while (dashboard.clients().length < 1) await new Promise((r) => setTimeout(r, 10));
    page.destroy();
    while (dashboard.clients().length > 0) await new Promise((r) => setTimeout(r, 10));
    for (let i = 1; i <= 100; i++) dashboard.publish(checkpointAt(i));
    expect((await get(dashboard.url, '/api/state')).body).toContain('"step":100}');
  });
});

describe('run view', () => {
  afterEach(() => vi.restoreAllMocks());

  // Only the fields of the start the view reads; the rest does not matter here.
  const START = {
    type: 'start',
    epochs: 2,
    steps_per_epoch: 10,
    lr_schedule: { baseLr: 1, peakLr: 1, warmupSteps: 0, decay: 'cosine', totalSteps: 20 },
  } as unknown as StartEvent;

  it("holds the run's start for the next message, and a page that connects meanwhile has it in its snapshot", () => {
    const view = new RunView();
    expect(view.apply(START)).toEqual([]);
    expect(view.snapshot().start).toBe(START);
    expect(view.finish('failed', 'boom').map((m) => m.type)).toEqual(['start', 'status']);
    expect(view.finish('failed', 'boom').map((m) => m.type)).toEqual(['status']);
  });

  it('sends progress at most every PROGRESS_EVERY_MS counted from the start and the epoch message too, and every loss point still reaches the page', () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const view = new RunView();
    const progress = (epoch: number, step: number): ProgressEvent => ({
      type: 'progress',
      epoch,
      step,
      steps: 10,
      loss: 1 / step,
      excess: null,
      samples_per_sec: 1000,
      eta_seconds: 1,
    });
    const sent: Array<{ type: string; points?: ReadonlyArray<readonly [number, number]> }> = [];
    const apply = (e: StartEvent | ProgressEvent | EpochEvent): void => void sent.push(...view.apply(e));
    apply(START);
    apply(progress(1, 2)); // right after the start
    expect(sent).toEqual([]); // the start waits for the next message, so the first steps cost pages no frame
    now += PROGRESS_EVERY_MS + 1;
    apply(progress(1, 5));
    now += PROGRESS_EVERY_MS + 500;
    apply({ type: 'epoch', epoch: 1 } as EpochEvent);
    now += PROGRESS_EVERY_MS / 2;
    apply(progress(2, 5)); // after the last progress message by more than the interval, after the epoch's by less
    now += PROGRESS_EVERY_MS / 2 + 1;
    apply(progress(2, 10));
    expect(sent.map((m) => m.type)).toEqual(['start', 'progress', 'epoch', 'progress']);
    expect(view.snapshot().start).toBe(START);
    expect(sent.flatMap((m) => m.points ?? []).map(([x]) => x)).toEqual([0.2, 0.5, 1.5, 2]);
  });
});
