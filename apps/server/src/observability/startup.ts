import type { LoggerService } from '@nestjs/common';
import type { ModelInfo } from '@ensemble/llm';

/** Nest's own start-up lines (module wiring, route mapping): useful when debugging, noise otherwise. */
const WIRING_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
]);

function contextOf(params: unknown[]): unknown {
  return params[params.length - 1];
}

/** The same logger, with Nest's wiring lines moved from `info` to `debug`. */
export function quietWiring(logger: LoggerService): LoggerService {
  return {
    log: (message: unknown, ...params: unknown[]) => {
      const context = contextOf(params);
      if (typeof context === 'string' && WIRING_CONTEXTS.has(context)) logger.debug?.(message, ...params);
      else logger.log(message, ...params);
    },
    error: (message: unknown, ...params: unknown[]) => void logger.error(message, ...params),
    warn: (message: unknown, ...params: unknown[]) => void logger.warn(message, ...params),
    debug: (message: unknown, ...params: unknown[]) => void logger.debug?.(message, ...params),
    verbose: (message: unknown, ...params: unknown[]) => void logger.verbose?.(message, ...params),
    fatal: (message: unknown, ...params: unknown[]) => void logger.fatal?.(message, ...params),
  };
}

export interface StartupFacts {
  host: string;
  port: number;
  /** DATABASE_URL, when set. */
  databaseUrl?: string;
  /** The embedded database's folder, when DATABASE_URL is unset. */
  embeddedDir?: string;
  models: ModelInfo[];
  offlineOnly: boolean;
  keyCount: number;
  insecureNoAuth: boolean;
}

/** Where a person on this machine reaches the server: loopback when it listens on every interface. */
export function localOrigin(host: string, port: number): string {
  const name = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host;
  return `http://${name.includes(':') && !name.startsWith('[') ? `[${name}]` : name}:${port}`;
}

/** Host, port and database of a Postgres URL: never its user or password. */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    return `Postgres at ${u.hostname}:${u.port || '5432'}${u.pathname || '/'}`;
  } catch {
    return 'Postgres (DATABASE_URL)';
  }
}

/** Bootstrap keys shorter than this draw a warning at start-up. */
export const SHORT_KEY_LENGTH = 16;

/**
 * The warning for bootstrap keys shorter than SHORT_KEY_LENGTH, without the
 * keys: such a key is easy to guess, and as every key is scrubbed from the
 * logs wherever its text appears, a short one also blanks ordinary words.
 */
export function shortKeysWarning(apiKeys: readonly string[]): string | undefined {
  const short = apiKeys.filter((k) => k.length < SHORT_KEY_LENGTH).length;
  if (short === 0) return undefined;
  return (
    `${short} of the ${apiKeys.length} API_KEYS ${short === 1 ? 'is' : 'are'} shorter than ${SHORT_KEY_LENGTH} characters: ` +
    'use long random keys (e.g. `openssl rand -hex 32`). A short key is easy to guess, and because every key is ' +
    'scrubbed from the logs wherever its text appears, a short one also blanks ordinary words in them.'
  );
}

/** The few lines a person starting the server needs: where to go, what it runs on, how it is secured. */
export function startupSummary(facts: StartupFacts): string[] {
  const origin = localOrigin(facts.host, facts.port);
  const everywhere = facts.host === '0.0.0.0' || facts.host === '::';
  const lines = [
    `Ensemble is ready at ${origin}/api (API docs: ${origin}/api/docs)` +
      (everywhere ? `; listening on every interface (HOST=${facts.host})` : ''),
    facts.databaseUrl
      ? `Database: ${describeDatabaseUrl(facts.databaseUrl)}`
      : `Database: using the embedded database in ${facts.embeddedDir ?? '?'} ` +
        '(development only: set DATABASE_URL to a Postgres server for production)',
  ];
  const defaultModel = facts.models.find((m) => m.isDefault)?.name;
  lines.push(
    facts.offlineOnly
      ? `Models: no language model is configured; the built-in offline model answers (set MODELS_FILE to add one)`
      : `Models: ${facts.models.map((m) => m.name).join(', ')} (default ${defaultModel ?? '?'})`,
  );
  lines.push(
    facts.insecureNoAuth
      ? 'API keys: none; every route is open (ENSEMBLE_INSECURE_NO_AUTH, development only)'
      : `API keys: ${facts.keyCount} configured (send Authorization: Bearer <key>)`,
  );
  return lines;
}
