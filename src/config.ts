import { z } from 'zod';

// Environment variables are the whole configuration. Each is validated once at start so a bad value
// stops the process with a message naming the variable, instead of failing later mid-request.

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number) => z.coerce.number().int().min(min);

/** HOOKWISE_STREAM_KEY_RECHECK_SECONDS's default, also the authenticator's when it isn't given one. */
export const DEFAULT_STREAM_KEY_RECHECK_SECONDS = 30;

const schema = z.object({
  PORT: int(0).max(65535).default(3000),
  DATABASE_URL: z.string().url({ message: 'must be a postgres:// URL' }),
  TEMPORAL_ADDRESS: z.string().min(1),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  HOOKWISE_TASK_QUEUE: z.string().min(1).default('hookwise'),
  // A prebuilt workflow bundle for workers (npm run build makes dist/workflow-bundle.js, found by itself).
  HOOKWISE_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  HOOKWISE_ENCRYPTION_KEY: z.string().min(32, { message: 'must be at least 32 characters' }),
  // The key being rotated out: secrets sealed with it still open until `hookwise secrets:reseal` has run.
  HOOKWISE_PREVIOUS_ENCRYPTION_KEY: z.string().min(32, { message: 'must be at least 32 characters' }).optional(),
  HOOKWISE_BOOTSTRAP_API_KEY: z.string().min(20).optional(),
  HOOKWISE_PUBLIC_URL: z.string().url().optional(),
  HOOKWISE_TRUST_PROXY: bool.default(false),
  HOOKWISE_ALLOW_HTTP: bool.default(false),
  HOOKWISE_ALLOW_PRIVATE_TARGETS: bool.default(false),
  // Ceilings: the activity profiles in workflows/activity-profiles.ts leave room above these.
  HOOKWISE_DELIVERY_TIMEOUT_MS: int(100).max(90_000).default(30_000),
  HOOKWISE_ENDPOINT_MAX_IN_FLIGHT: int(1).max(1000).default(10),
  HOOKWISE_ENDPOINT_MAX_PER_MINUTE: int(1).max(10_000).default(100),
  HOOKWISE_MAX_RETRY_AFTER_SECONDS: int(0).max(604_800).default(3600),
  HOOKWISE_SECRET_ROTATION_OVERLAP_SECONDS: int(0).default(86_400),
  HOOKWISE_RECOVERY_INTERVAL_SECONDS: z.coerce.number().positive().default(30),
  // A worker's workflow-task slots; a delivery attempt holds one while its POST waits (src/roots/worker.ts).
  HOOKWISE_WORKER_TASK_SLOTS: int(2).max(2_000).default(40),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: z.string().url().optional(),
  HOOKWISE_MODEL_FAST: z.string().min(1).default('gpt-4o-mini'),
  HOOKWISE_MODEL_SMART: z.string().min(1).default('gpt-4o'),
  HOOKWISE_LLM_TIMEOUT_MS: int(100).max(300_000).default(60_000),
  // Off: every event the rules can't decide is asked anew (the baseline of `npm run bench:llm`).
  HOOKWISE_LLM_MATCH_CACHE: bool.default(true),
  HOOKWISE_ROOM_TICK_SECONDS: z.coerce.number().positive().default(30),
  HOOKWISE_ROOM_BATCH_SIZE: int(1).max(1000).default(10),
  HOOKWISE_BACKLOG_CAP: int(1).default(100),
  // Delivery history (finished deliveries, their attempts, their events) older than this is deleted.
  HOOKWISE_RETENTION_DAYS: z.coerce.number().positive().default(30),
  HOOKWISE_AUTO_DISABLE_AFTER_HOURS: z.coerce.number().positive().default(120),
  // Login JWTs. JWKS_URL needs JWT_AUDIENCE (checked below): an identity provider shared with other
  // apps signs their tokens too, and only the audience says a token was meant for hookwise.
  JWKS_URL: z.string().url().optional(),
  JWT_ISSUER: z.string().optional(),
  JWT_AUDIENCE: z.string().optional(),
  // How often an open event stream re-checks the API key it was opened with, to end it once revoked.
  HOOKWISE_STREAM_KEY_RECHECK_SECONDS: z.coerce.number().min(0.1).max(3600).default(DEFAULT_STREAM_KEY_RECHECK_SECONDS),
  // Event streams (SSE and WebSocket) one org may hold open on one API process; past it, 429.
  HOOKWISE_MAX_STREAMS_PER_ORG: int(1).max(10_000).default(100),
  // The worker's /metrics and /healthz port (the API serves /metrics on PORT); 0 picks a free port.
  HOOKWISE_METRICS_PORT: int(0).max(65535).default(9464),
  HOOKWISE_METRICS_TOKEN: z.string().min(16).optional(),
  // Percent the V8 heap may grow past its live set between full collections; 0 is V8's own choice.
  HOOKWISE_HEAP_GROWTH_PERCENT: int(0).max(400).default(0),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export type Config = z.infer<typeof schema>;

/** Every environment variable the processes read (docker-compose and the docs are checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings count as unset, which is what docker-compose's `VAR=` produces.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema
    .refine((c) => !c.JWKS_URL || c.JWT_AUDIENCE, { path: ['JWT_AUDIENCE'], message: 'is required when JWKS_URL is set' })
    .safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const name = String(i.path[0]);
      const hint = HINTS[name] ? ` (${HINTS[name]})` : '';
      return `  ${name}: ${i.code === 'invalid_type' && cleaned[name] === undefined ? 'is required' : i.message}${hint}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

const HINTS: Record<string, string> = {
  DATABASE_URL: '`npm start` starts an embedded PostgreSQL when it is unset',
  TEMPORAL_ADDRESS: '`npm start` starts a Temporal dev server when it is unset',
  HOOKWISE_ENCRYPTION_KEY: 'encrypts webhook secrets at rest; `npm start` generates one into .hookwise/',
  JWT_AUDIENCE: 'the `aud` your identity provider puts in tokens meant for hookwise',
};
