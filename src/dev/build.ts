import { spawnSync } from 'node:child_process';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

// `npm run build`: the production build. Compiles src/, workflows/ and activities/ to dist/ (no tsx
// at run time), bundles the workflows once (workers load dist/workflow-bundle.js instead of bundling
// at start), and copies what the compiled code reads from disk: migrations, package.json (the
// version), and the built console. Run it as `node dist/src/main/api.js` / `worker.js`.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
// HOOKWISE_BUILD_DIR (inside the repository, so node_modules resolves) lets the test build elsewhere.
const DIST = process.env.HOOKWISE_BUILD_DIR ? join(ROOT, process.env.HOOKWISE_BUILD_DIR) : join(ROOT, 'dist');
const log = (line: string) => process.stderr.write(`[build] ${line}\n`);

function run(command: string, args: string[]): void {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal})`);
}

async function main(): Promise<void> {
  const started = Date.now();
  await rm(DIST, { recursive: true, force: true });
  log('compiling TypeScript → dist/');
  run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', DIST]);
  await cp(join(ROOT, 'src/db/migrations'), join(DIST, 'src/db/migrations'), { recursive: true });
  await cp(join(ROOT, 'package.json'), join(DIST, 'package.json'));

  log('bundling the workflows → dist/workflow-bundle.js');
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(ROOT, 'workflows/index.ts'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: log, error: log },
  });
  await writeFile(join(DIST, 'workflow-bundle.js'), code);

  if (existsSync(join(ROOT, 'console/build.ts'))) {
    log('building the console');
    run(process.execPath, ['--import', 'tsx', join(ROOT, 'console/build.ts')]);
    await mkdir(join(DIST, 'console'), { recursive: true });
    await cp(join(ROOT, 'console/dist'), join(DIST, 'console/dist'), { recursive: true });
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
}

main().catch((err) => {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
