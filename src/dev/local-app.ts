import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateApiKey } from '../domain/api-keys.js';

// What `npm start` and `npm run start:cluster` give hookwise's own processes (src/main/api.ts and
// src/main/worker.ts, run as black boxes): the command line, the environment, the local secrets.

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The command that runs an entry point (e.g. "src/main/api.ts") as its own process. */
export function entryCommand(script: string): { command: string; args: string[] } {
  return { command: process.execPath, args: ['--import', 'tsx', join(REPO_ROOT, script)] };
}

// Empty counts as unset, as in src/config.ts (docker-compose's `VAR=`).
export const envValue = (name: string): string | undefined => process.env[name] || undefined;

export interface LocalSecrets {
  encryptionKey: string;
  bootstrap: {
    value: string;
    /** True when it was generated just now (show it once). */
    created: boolean;
    /** The file it is kept in, or null when it came from HOOKWISE_BOOTSTRAP_API_KEY. */
    file: string | null;
  };
}

/**
 * HOOKWISE_ENCRYPTION_KEY and HOOKWISE_BOOTSTRAP_API_KEY from the environment, or else generated once
 * and kept in `stateDir` (encryption-key, bootstrap-api-key; mode 0600).
 */
export async function localSecrets(stateDir: string): Promise<LocalSecrets> {
  const encryptionKey =
    envValue('HOOKWISE_ENCRYPTION_KEY') ??
    (await storedSecret(join(stateDir, 'encryption-key'), () => randomBytes(32).toString('base64url'))).value;
  const fromEnv = envValue('HOOKWISE_BOOTSTRAP_API_KEY');
  if (fromEnv) return { encryptionKey, bootstrap: { value: fromEnv, created: false, file: null } };
  const file = join(stateDir, 'bootstrap-api-key');
  const stored = await storedSecret(file, () => generateApiKey().key);
  return { encryptionKey, bootstrap: { ...stored, file } };
}

/** The environment of an API (with its `port`) or worker process for local use. */
export function localAppEnv(o: { port?: number; databaseUrl: string; temporalAddress: string; secrets: LocalSecrets }): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...(o.port !== undefined ? { PORT: String(o.port) } : {}),
    DATABASE_URL: o.databaseUrl,
    TEMPORAL_ADDRESS: o.temporalAddress,
    HOOKWISE_ENCRYPTION_KEY: o.secrets.encryptionKey,
    HOOKWISE_BOOTSTRAP_API_KEY: o.secrets.bootstrap.value,
    // Local use means webhook targets like http://localhost:8080; production defaults stay strict.
    HOOKWISE_ALLOW_HTTP: envValue('HOOKWISE_ALLOW_HTTP') ?? 'true',
    HOOKWISE_ALLOW_PRIVATE_TARGETS: envValue('HOOKWISE_ALLOW_PRIVATE_TARGETS') ?? 'true',
  };
}

/** Reads a secret file, or creates it (0600) with `make()`. `created` tells which happened. */
export async function storedSecret(file: string, make: () => string): Promise<{ value: string; created: boolean }> {
  try {
    return { value: (await readFile(file, 'utf8')).trim(), created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const value = make();
  try {
    // 'wx': never overwrite a secret another launcher wrote a moment ago.
    await writeFile(file, value + '\n', { mode: 0o600, flag: 'wx' });
    return { value, created: true };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return { value: (await readFile(file, 'utf8')).trim(), created: false };
  }
}

/** A path relative to the working directory, for messages. */
export const show = (p: string): string => relative(process.cwd(), p) || p;
