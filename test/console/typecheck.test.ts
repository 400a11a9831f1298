import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// The root `tsc --noEmit` of `npm test` checks the console's Node scripts through imports like this
// one (build.ts and browser.ts are imported by the other console tests); nothing runs at test time.
import type {} from '../../console/screenshots.js';

// The console's browser code (DOM types, Preact's JSX) is a project of its own, console/tsconfig.json,
// which the root `tsc --noEmit` doesn't see.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSC = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));

describe('the console', () => {
  it('type-checks (console/tsconfig.json)', async () => {
    const result = await promisify(execFile)(process.execPath, [TSC, '-p', 'console/tsconfig.json', '--noEmit'], { cwd: ROOT }).catch(
      (e: { stdout: string; stderr: string }) => e,
    );
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
  }, 120_000);
});
