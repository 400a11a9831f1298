import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Machine-wide cache for hookwise's dev tooling (e.g. the Temporal CLI binary).
 * Lives outside the repo so it survives `git clean` and is shared by checkouts.
 */
export function cacheDir(): string {
  const fromEnv = process.env.HOOKWISE_CACHE_DIR;
  const dir = fromEnv && fromEnv.trim() !== '' ? resolve(fromEnv) : join(homedir(), '.cache', 'hookwise');
  mkdirSync(dir, { recursive: true });
  return dir;
}
