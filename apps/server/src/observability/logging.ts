import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { DestinationStream, Logger } from 'pino';
import type { AppConfig } from '../config/config';
import { routeOf } from './route';

export const REDACTED = '[REDACTED]';

/**
 * Paths pino replaces with `[REDACTED]` in every line: credentials in the
 * request and response headers, and any field named like an API key.
 */
export const SECRET_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
  'authorization',
  'apiKey',
  'apiKeys',
  'api_key',
  '*.apiKey',
  '*.apiKeys',
  '*.api_key',
];

/** Health, readiness and metrics: scraped every few seconds, so logged at `debug` when they succeed. */
const PROBE_PATHS = new Set(['/api/health', '/api/ready', '/api/metrics']);

export interface LoggingOptions {
  /** Where lines go; default stdout. Tests pass a stream to capture lines. */
  destination?: DestinationStream;
  /** Overrides `config.logLevel` (e.g. `silent` for quiet tests). */
  level?: string;
}

/**
 * The process's root pino logger: one JSON object per line, ISO timestamps,
 * level names, secrets redacted by path, and every configured API key
 * scrubbed from the final text wherever it appears (a key pasted into a
 * message or a URL is not printed either).
 */
export function createRootLogger(
  config: Pick<AppConfig, 'logLevel' | 'apiKeys'>,
  options: LoggingOptions = {},
): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false, minLength: 0 });
  return pino(
    {
      name: 'ensemble',
      level: options.level ?? config.logLevel,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: SECRET_PATHS, censor: REDACTED },
    },
    scrubbingStream(destination, config.apiKeys),
  );
}

/**
 * Wraps a destination so that no line leaves with one of `secrets` in it:
 * raw, JSON-escaped, or percent-encoded in any mix (`k%2Dadv2`, `%6B-adv2`,
 * as a URL in the access log carries it), in either hex case.
 */
export function scrubbingStream(destination: DestinationStream, secrets: string[]): DestinationStream {
  const needles = [...new Set(secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))]
    .filter((s) => s.length > 0)
    .sort((a, b) => b.length - a.length);
  if (needles.length === 0) return destination;
  const encoded = new RegExp(
    secrets
      .filter((s) => s.length > 0)
      .sort((a, b) => b.length - a.length)
      .map(encodedPattern)
      .join('|'),
    'g',
  );
  return {
    write(line: string) {
      let out = line;
      for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
      // A percent-escape is the only way left to spell a key; most lines have none.
      if (out.includes('%')) out = out.replace(encoded, REDACTED);
      return destination.write(out);
    },
  };
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const hexDigit = (d: string) => (/[a-f]/.test(d) ? `[${d}${d.toUpperCase()}]` : d);

/** A pattern matching `secret` with each character written as itself, JSON-escaped, or as its `%XX` bytes. */
function encodedPattern(secret: string): string {
  return [...secret]
    .map((ch) => {
      const percent = [...Buffer.from(ch, 'utf8')]
        .map((b) => `%${[...b.toString(16).padStart(2, '0')].map(hexDigit).join('')}`)
        .join('');
      const forms = new Set([escapeRegExp(ch), escapeRegExp(JSON.stringify(ch).slice(1, -1)), percent]);
      return `(?:${[...forms].join('|')})`;
    })
    .join('');
}

export type AccessLevel = 'error' | 'warn' | 'info' | 'debug';

/** The level of a request's access-log line: errors at `error`, client errors at `warn`, probes at `debug`. */
export function accessLevel(req: IncomingMessage, res: ServerResponse): AccessLevel {
  if (res.statusCode >= 500) return 'error';
  if (res.statusCode >= 400) return 'warn';
  return PROBE_PATHS.has((req.url ?? '').split('?')[0]) ? 'debug' : 'info';
}

/**
 * The access log: one line per response with the request id, method, URL,
 * headers (redacted), status, time and route pattern. The line is built
 * only when its level is enabled; nothing is allocated per request for it
 * otherwise.
 */
export class AccessLog {
  /** The root logger with pino's standard request/response serializers. */
  readonly logger: Logger;

  constructor(root: Logger) {
    this.logger = root.child({}, { serializers: { req: pino.stdSerializers.req, res: pino.stdSerializers.res } });
  }

  /** Writes the line of a request that finished (or whose client left first, `aborted`). */
  write(req: IncomingMessage, res: ServerResponse, reqId: string, startedNs: bigint, aborted: boolean): void {
    const level = accessLevel(req, res);
    if (!this.logger.isLevelEnabled(level)) return;
    const responseTime = Math.round(Number(process.hrtime.bigint() - startedNs) / 1e6);
    const msg = aborted ? 'request aborted' : level === 'error' ? 'request errored' : 'request completed';
    this.logger[level]({ reqId, req, res, responseTime, route: routeOf(req) }, msg);
  }
}
