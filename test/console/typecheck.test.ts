import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The root `tsc --noEmit` of `npm test` doesn't see console/: its browser code (DOM types, Preact's
// JSX) and its Node scripts have their own projects.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

describe('the console type-checks', () => {
  for (const project of ['console/tsconfig.json', 'console/tsconfig.node.json']) {
    it(project, async () => {
      const result = await promisify(execFile)(process.execPath, [TSC, '-p', project, '--noEmit'], { cwd: ROOT }).catch((e: { stdout: string; stderr: string }) => e);
      expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
    }, 120_000);
  }
});
