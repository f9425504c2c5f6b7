/**
 * Files of one folder, by URL path. Anything that could name a file outside it is
 * refused before the file system is asked: `..` and `.` segments, backslashes, NUL,
 * encoded slashes, bad percent-encoding, dot files; and what a symbolic link points to
 * must lie inside the folder too.
 */
import { readFile, realpath } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export type StaticResult = { readonly status: 200; readonly type: string; readonly body: Buffer } | { readonly status: 400 | 404; readonly reason: string };

/** The file `urlPath` (the path of a URL, still percent-encoded, e.g. "/app.js") names in `root`. */
export async function readStaticFile(root: string, urlPath: string): Promise<StaticResult> {
  const segments = safeSegments(urlPath);
  if (typeof segments === 'string') return { status: 400, reason: segments };
  const type = TYPES[extname(segments[segments.length - 1] ?? '')];
  if (type === undefined) return { status: 404, reason: 'no such file' };
  try {
    const base = await realpath(root);
    const path = await realpath(join(base, ...segments));
    if (!path.startsWith(base + sep)) return { status: 404, reason: 'no such file' };
    return { status: 200, type, body: await readFile(path) };
  } catch {
    return { status: 404, reason: 'no such file' };
  }
}

/** The decoded path segments, or why the path is refused. */
function safeSegments(urlPath: string): string[] | string {
  if (!urlPath.startsWith('/')) return 'the path must start with /';
  const segments: string[] = [];
  for (const raw of urlPath.slice(1).split('/')) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return 'bad percent-encoding';
    }
    if (segment === '' || segment.startsWith('.') || /[/\\\0]/.test(segment)) return `refused path segment ${JSON.stringify(segment)}`;
    segments.push(segment);
  }
  return segments;
}
