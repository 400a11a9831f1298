import { chmod, cp, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cacheDir } from './cache-dir.js';
import { exe, findOnPath, goInstallOnce, isExecutableFile } from './go-install.js';
import { TEMPORAL_CLI, TEMPORAL_SERVER, TEMPORAL_UI } from './temporal-versions.js';

// Where the Temporal binaries come from: found, or built once into hookwise's cache
// (~/.cache/hookwise, or $HOOKWISE_CACHE_DIR):
//   bin/temporal                                   the CLI (its dev server)
//   temporal-server-v1.29.1/server, sql            the server and its SQL schema tool
//   temporal-server-v1.29.1/schema/postgresql/v12  the schema the SQL tool applies
//   temporal-ui-v2.42.1/server                     the UI server

const at = (pkg: string, version: string) => `${pkg}@${version}`;

/**
 * The `temporal` CLI: $TEMPORAL_CLI_PATH, then `temporal` on PATH, then the cached build in
 * <cache>/bin, built there with Go if missing.
 */
export async function findOrBuildTemporalCli(log: (line: string) => void = console.error): Promise<string> {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv !== undefined && fromEnv !== '') {
    const p = resolve(fromEnv);
    if (await isExecutableFile(p)) return p;
    throw new Error(`TEMPORAL_CLI_PATH is set to "${fromEnv}", but that is not an executable file.`);
  }
  const onPath = await findOnPath('temporal');
  if (onPath) return onPath;

  const dir = join(cacheDir(), 'bin');
  const install = `GOBIN=${dir} go install ${TEMPORAL_CLI.packages.map((p) => at(p, TEMPORAL_CLI.version)).join(' ')}`;
  await goInstallOnce(
    {
      label: 'temporal-cli',
      packages: TEMPORAL_CLI.packages.map((p) => at(p, TEMPORAL_CLI.version)),
      dir,
      outputs: [{ path: exe('temporal'), executable: true }],
      help: [
        'The Temporal CLI (`temporal`) runs the local Temporal dev server (HOOKWISE_TEMPORAL_ENGINE=dev). Do one of:',
        `  1. install Go (https://go.dev/dl/); hookwise then builds it into its cache by itself, as:  ${install}`,
        '  2. install a release of the Temporal CLI (https://docs.temporal.io/cli#install) and put `temporal` on PATH,',
        '     or point TEMPORAL_CLI_PATH at it',
        '  3. use the Temporal server engine instead:  export HOOKWISE_TEMPORAL_ENGINE=server',
        '  4. use an existing Temporal server:  export TEMPORAL_ADDRESS=host:7233',
      ].join('\n'),
    },
    log,
  );
  return join(dir, exe('temporal'));
}

export interface TemporalServerBinaries {
  /** `server start --service …` */
  server: string;
  /** The SQL schema tool (temporal-sql-tool in Temporal's images). */
  sql: string;
  /** schema/postgresql/v12 of the server module: temporal/versioned, visibility/versioned. */
  schemaDir: string;
  version: string;
}

/** The Temporal server, its SQL tool and the PostgreSQL schema, built once into the cache. */
export async function findOrBuildTemporalServer(log: (line: string) => void = console.error): Promise<TemporalServerBinaries> {
  const dir = join(cacheDir(), `temporal-server-${TEMPORAL_SERVER.version}`);
  const packages = TEMPORAL_SERVER.packages.map((p) => at(p, TEMPORAL_SERVER.version));
  await goInstallOnce(
    {
      label: 'temporal-server',
      packages,
      dir,
      outputs: [
        { path: TEMPORAL_SERVER.schemaDir },
        { path: exe('sql'), executable: true },
        { path: exe('server'), executable: true },
      ],
      // The SQL tool reads the schema from files: keep a copy beside the binaries, so nothing depends
      // on Go's module cache (which `go clean -modcache` empties) after the build.
      afterBuild: async (staging, go) => {
        const from = join(await go.env('GOMODCACHE'), at(TEMPORAL_SERVER.module, TEMPORAL_SERVER.version), TEMPORAL_SERVER.schemaDir);
        const to = join(staging, TEMPORAL_SERVER.schemaDir);
        await cp(from, to, { recursive: true });
        await makeWritable(to); // the module cache is read-only, and so would the copy be
      },
      help: [
        `The Temporal server ${TEMPORAL_SERVER.version} is hookwise's production engine (HOOKWISE_TEMPORAL_ENGINE=server, the default for`,
        'tests and benchmarks). Do one of:',
        `  1. install Go (https://go.dev/dl/); hookwise then builds it into its cache by itself, as:`,
        `       GOBIN=${dir} go install ${packages.join(' ')}`,
        `     plus a copy of the module's ${TEMPORAL_SERVER.schemaDir} directory in ${join(dir, TEMPORAL_SERVER.schemaDir)}`,
        '  2. use the Temporal CLI dev server instead:  export HOOKWISE_TEMPORAL_ENGINE=dev',
        '  3. use an existing Temporal server:  export TEMPORAL_ADDRESS=host:7233',
      ].join('\n'),
    },
    log,
  );
  return {
    server: join(dir, exe('server')),
    sql: join(dir, exe('sql')),
    schemaDir: join(dir, TEMPORAL_SERVER.schemaDir),
    version: TEMPORAL_SERVER.version,
  };
}

/** The Temporal UI server, built once into the cache (only when a UI is asked for). */
export async function findOrBuildTemporalUi(log: (line: string) => void = console.error): Promise<string> {
  const dir = join(cacheDir(), `temporal-ui-${TEMPORAL_UI.version}`);
  const packages = TEMPORAL_UI.packages.map((p) => at(p, TEMPORAL_UI.version));
  await goInstallOnce(
    {
      label: 'temporal-ui',
      packages,
      dir,
      outputs: [{ path: exe('server'), executable: true }],
      help: [
        `The Temporal UI ${TEMPORAL_UI.version} shows the production engine's workflows. Do one of:`,
        `  1. install Go (https://go.dev/dl/); hookwise then builds it into its cache by itself, as:`,
        `       GOBIN=${dir} go install ${packages.join(' ')}`,
        '  2. use the Temporal CLI dev server, which has its own UI:  export HOOKWISE_TEMPORAL_ENGINE=dev',
      ].join('\n'),
    },
    log,
  );
  return join(dir, exe('server'));
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) await makeWritable(p);
    else await chmod(p, 0o644);
  }
}
