import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { DestinationStream, Logger } from 'pino';
import { pinoHttp, HttpLogger } from 'pino-http';
import type { AppConfig } from '../config/config';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-id';
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

/**
 * Fields that carry prompt or completion text. They are redacted unless
 * `LOG_PROMPTS=true`; code that logs prompt text (the chat module) logs it
 * under one of these names, or checks `config.logPrompts` itself (see
 * `promptForLog`). Request bodies are never logged by the access log.
 */
export const PROMPT_PATHS = ['req.body', 'body', 'prompt', 'messages', 'completion', '*.prompt', '*.messages', '*.completion'];

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
export function createRootLogger(config: Pick<AppConfig, 'logLevel' | 'logPrompts' | 'apiKeys'>, options: LoggingOptions = {}): Logger {
  const destination = options.destination ?? pino.destination({ dest: 1, sync: false, minLength: 0 });
  return pino(
    {
      name: 'ensemble',
      level: options.level ?? config.logLevel,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: config.logPrompts ? SECRET_PATHS : [...SECRET_PATHS, ...PROMPT_PATHS], censor: REDACTED },
    },
    scrubbingStream(destination, config.apiKeys),
  );
}

/** Wraps a destination so that no line leaves with one of `secrets` in it (raw or JSON-escaped). */
export function scrubbingStream(destination: DestinationStream, secrets: string[]): DestinationStream {
  const needles = [...new Set(secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1)]))]
    .filter((s) => s.length > 0)
    .sort((a, b) => b.length - a.length);
  if (needles.length === 0) return destination;
  return {
    write(line: string) {
      let out = line;
      for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join(REDACTED);
      return destination.write(out);
    },
  };
}

/**
 * The access log and request context: assigns the request id (echoed in
 * `X-Request-Id`), gives the request a child logger carrying `reqId` (every
 * line logged while serving it has the id), and writes one line per response
 * with method, URL, headers (redacted), status and time.
 */
export function createHttpLogger(logger: Logger): HttpLogger {
  return pinoHttp({
    logger,
    quietReqLogger: true,
    customAttributeKeys: { reqId: 'reqId' },
    genReqId: (req: IncomingMessage, res: ServerResponse) => {
      const id = requestIdFrom(req.headers['x-request-id']);
      res.setHeader(REQUEST_ID_HEADER, id);
      return id;
    },
    // The route pattern on the access-log line, as in the metrics.
    customSuccessObject: (req: IncomingMessage, _res: ServerResponse, value: object) => ({ ...value, route: routeOf(req) }),
    customErrorObject: (req: IncomingMessage, _res: ServerResponse, _err: Error, value: object) => ({ ...value, route: routeOf(req) }),
    customLogLevel: (req: IncomingMessage, res: ServerResponse, err?: Error) => {
      if (err || res.statusCode >= 500) return 'error';
      if (res.statusCode >= 400) return 'warn';
      return PROBE_PATHS.has((req.url ?? '').split('?')[0]) ? 'debug' : 'info';
    },
  });
}

/**
 * What to log for a piece of prompt or completion text: the text itself only
 * when `LOG_PROMPTS=true`, otherwise just its length.
 */
export function promptForLog(logPrompts: boolean, text: string): string | { redacted: true; chars: number } {
  return logPrompts ? text : { redacted: true, chars: text.length };
}
