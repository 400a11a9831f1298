#!/usr/bin/env node
// `npx hookwise …`: the compiled CLI when there is a build (the production image), else the
// TypeScript source through tsx (a checkout).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/src/cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
