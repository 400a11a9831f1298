#!/usr/bin/env node
// `npx hookwise …`: runs the TypeScript CLI through tsx, as every hookwise entry point does.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
