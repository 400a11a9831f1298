import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

// `npm run build:console`: bundles console/src into console/dist, which the API serves at /console
// (src/api/console.ts). Assets get content-hashed names (cached for good); index.html is written last,
// atomically, so a running API never serves a page whose assets aren't there yet.
// `--if-stale` skips the build when dist is newer than every source (npm start, npm test and
// npm run start:cluster run it that way).

export const CONSOLE_DIR = fileURLToPath(new URL('.', import.meta.url));
export const SOURCE_DIR = join(CONSOLE_DIR, 'src');
export const DIST_DIR = join(CONSOLE_DIR, 'dist');

const BASE = '/console';

const page = (css: string, js: string, icon: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>hookwise console</title>
<link rel="icon" href="${BASE}/assets/${icon}" type="image/svg+xml">
<link rel="stylesheet" href="${BASE}/assets/${css}">
<script type="module" src="${BASE}/assets/${js}"></script>
</head>
<body>
<div id="app"><noscript>The hookwise console needs JavaScript.</noscript></div>
</body>
</html>
`;

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) newest = Math.max(newest, (await stat(join(entry.parentPath, entry.name))).mtimeMs);
  }
  return newest;
}

/** True when dist/index.html is older than a source file or this script (or missing). */
export async function isStale(outDir = DIST_DIR): Promise<boolean> {
  const built = await stat(join(outDir, 'index.html')).then((s) => s.mtimeMs, () => 0);
  const sources = Math.max(await newestMtime(SOURCE_DIR), (await stat(fileURLToPath(import.meta.url))).mtimeMs);
  return built < sources;
}

/** Builds the console into outDir; returns the files written (relative to outDir). */
export async function buildConsole(outDir = DIST_DIR): Promise<string[]> {
  const assetsDir = join(outDir, 'assets');
  await mkdir(assetsDir, { recursive: true });
  const result = await build({
    entryPoints: [join(SOURCE_DIR, 'main.tsx')],
    bundle: true,
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox114', 'safari16.4'],
    minify: true,
    sourcemap: 'linked',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    outdir: assetsDir,
    publicPath: `${BASE}/assets`,
    metafile: true,
    write: false,
    logLevel: 'warning',
  });

  const written: string[] = [];
  for (const file of result.outputFiles) {
    await writeFile(file.path, file.contents);
    written.push(relative(outDir, file.path));
  }
  const outputs = Object.entries(result.metafile.outputs);
  const js = outputs.find(([, o]) => o.entryPoint?.endsWith('main.tsx'));
  if (!js?.[1].cssBundle) throw new Error('console build: no JS entry or CSS bundle in the output');

  // The icon isn't imported by code; it gets a content-hashed name like the rest.
  const icon = await readFile(join(SOURCE_DIR, 'favicon.svg'));
  const iconName = `favicon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`;
  await writeFile(join(assetsDir, iconName), icon);
  written.push(join('assets', iconName));

  const tmp = join(outDir, `.index.html.${process.pid}`);
  await writeFile(tmp, page(basename(js[1].cssBundle), basename(js[0]), iconName));
  await rename(tmp, join(outDir, 'index.html'));
  written.push('index.html');

  // Assets of earlier builds: a page loaded before this build may still ask for them, but not for long.
  const keep = new Set(written.map((f) => basename(f)));
  for (const name of await readdir(assetsDir)) {
    if (!keep.has(name)) await rm(join(assetsDir, name), { force: true });
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const ifStale = process.argv.includes('--if-stale');
  const started = Date.now();
  if (ifStale && !(await isStale())) process.exit(0);
  const files = await buildConsole();
  const sizes = await Promise.all(files.filter((f) => ['.js', '.css'].includes(extname(f))).map(async (f) => `${f} ${((await stat(join(DIST_DIR, f))).size / 1024).toFixed(1)} KB`));
  process.stderr.write(`console built into console/dist in ${Date.now() - started} ms: ${sizes.join(', ')}\n`);
}
