import { run, UsageError, USAGE } from './hookwise.js';

run(process.argv.slice(2)).catch((err) => {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`hookwise: ${(err as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  console.error(`hookwise: ${(err as Error).message}`);
  process.exit(1);
});
