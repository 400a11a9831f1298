// The one place that pins the Temporal software hookwise's local tooling builds. docker-compose.yml
// uses the same versions (test/integration/compose.test.ts checks that it does).

/** The Temporal CLI: its dev server is `npm start`'s quick default engine. */
export const TEMPORAL_CLI = { module: 'github.com/temporalio/cli', version: 'v1.5.1', packages: ['github.com/temporalio/cli/cmd/temporal'] } as const;

/** The Temporal server and its SQL schema tool: the production engine (tests, benches, the cluster). */
export const TEMPORAL_SERVER = {
  module: 'go.temporal.io/server',
  version: 'v1.29.1',
  packages: ['go.temporal.io/server/cmd/server', 'go.temporal.io/server/cmd/tools/sql'],
  /** The PostgreSQL schema directory inside the module, copied beside the binaries. */
  schemaDir: 'schema/postgresql/v12',
} as const;

/** The Temporal UI server (its binary is also called `server`). */
export const TEMPORAL_UI = { module: 'github.com/temporalio/ui-server/v2', version: 'v2.42.1', packages: ['github.com/temporalio/ui-server/v2/cmd/server'] } as const;

/** "v1.29.1" → "1.29.1", the form docker image tags use. */
export const withoutV = (version: string): string => version.replace(/^v/, '');
