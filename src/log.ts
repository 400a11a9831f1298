import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs, one object per line, for both processes. Anything that could carry a secret is redacted
 * by path, and no code logs request bodies, headers or sealed values in the first place.
 */
export function createLogger(o: { level: string; service: 'api' | 'worker' | string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: o.level,
      base: { service: o.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['*.secret', '*.authorization', '*.apiKey', '*.token', 'req.headers.authorization'], censor: '[redacted]' },
    },
    o.destination,
  );
}

/** The `(line) => void` most modules take: problems they handled but an operator should see. */
export const warnLine = (logger: Logger) => (line: string) => logger.warn(line);
