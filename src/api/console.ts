import { readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Middleware } from 'koa';
import { notFound } from '../errors.js';

// The web console at /console: a single-page app built by `npm run build:console` (console/build.ts)
// into console/dist. It talks only to /api/v1 with the caller's own key, so this module serves files
// and nothing else: index.html for every page path, content-hashed assets from /console/assets/.

export const CONSOLE_DIST_DIR = fileURLToPath(new URL('../../console/dist/', import.meta.url));

const PREFIX = '/console';

/** No inline script or style, no other origin: the console needs nothing more. */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

// Flat names only (esbuild writes `main-3F2A1B9C.js`): nothing with a slash, a backslash or a
// leading dot can name a file, so no path can leave the assets folder, however it is encoded.
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

const NOT_BUILT = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hookwise console: not built</title></head>
<body><h1>The console is not built</h1>
<p>Run <code>npm run build:console</code> in the hookwise folder, then reload this page.
(<code>npm start</code>, <code>npm test</code> and <code>npm run start:cluster</code> build it when it is missing;
the Docker image is built with it.)</p></body></html>
`;

function securityHeaders(ctx: Context): void {
  ctx.set({
    'Content-Security-Policy': CONSOLE_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
  });
}

/** Sends a file with an ETag (304 when the browser's copy is current); false when it doesn't exist. */
async function sendFile(ctx: Context, path: string, cacheControl: string): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  if (!info?.isFile()) return false;
  ctx.status = 200;
  ctx.type = CONTENT_TYPES[extname(path)] ?? 'application/octet-stream';
  ctx.set('Cache-Control', cacheControl);
  ctx.response.etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
  ctx.response.lastModified = info.mtime;
  if (ctx.fresh) {
    ctx.status = 304;
    return true;
  }
  ctx.body = await readFile(path);
  return true;
}

/** Serves the console from `dir` (console/dist by default); every other path goes on to the API. */
export function consoleAssets(dir: string = CONSOLE_DIST_DIR): Middleware {
  const assets = join(dir, 'assets');
  return async (ctx, next) => {
    if (ctx.path !== PREFIX && !ctx.path.startsWith(`${PREFIX}/`)) return next();
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') {
      ctx.set('Allow', 'GET, HEAD');
      ctx.status = 405;
      return;
    }
    securityHeaders(ctx);

    if (ctx.path.startsWith(`${PREFIX}/assets/`)) {
      let name: string;
      try {
        name = decodeURIComponent(ctx.path.slice(`${PREFIX}/assets/`.length));
      } catch {
        throw notFound('console asset');
      }
      if (!ASSET_NAME.test(name) || !(await sendFile(ctx, join(assets, name), 'public, max-age=31536000, immutable'))) {
        throw notFound('console asset');
      }
      return;
    }

    // Any other path is a page of the app, which routes on the client.
    if (!(await sendFile(ctx, join(dir, 'index.html'), 'no-cache'))) {
      ctx.status = 503;
      ctx.type = 'text/html; charset=utf-8';
      ctx.set('Cache-Control', 'no-store');
      ctx.body = NOT_BUILT;
    }
  };
}
