import { AsyncLocalStorage } from 'node:async_hooks';
import { Context } from '@temporalio/activity';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const request = new AsyncLocalStorage<{ requestId: string }>();

/** Runs `fn` with a request id that every log line written inside it carries. */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return request.run({ requestId }, fn);
}

/** What a line is about: the HTTP request, or the activity (workflow, type, attempt) it was logged in. */
function context(): Record<string, unknown> {
  const r = request.getStore();
  if (r) return { requestId: r.requestId };
  try {
    const info = Context.current().info;
    return { workflowId: info.workflowExecution?.workflowId, activity: info.activityType, attempt: info.attempt };
  } catch {
    return {};
  }
}

/**
 * JSON logs, one object per line, for both processes, each line carrying its request id or activity.
 * Anything that could carry a secret is redacted by path, and no code logs request bodies, headers or
 * sealed values in the first place.
 */
export function createLogger(o: { level: string; service: 'api' | 'worker' | string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: o.level,
      base: { service: o.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: context,
      redact: { paths: ['*.secret', '*.authorization', '*.apiKey', '*.token', 'req.headers.authorization'], censor: '[redacted]' },
    },
    o.destination,
  );
}

/** The `(line) => void` most modules take: problems they handled but an operator should see. */
export const warnLine = (logger: Logger) => (line: string) => logger.warn(line);
