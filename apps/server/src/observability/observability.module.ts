import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { APP_CONFIG, AppConfig } from '../config/config';
import { createHttpLogger, createRootLogger, LoggingOptions } from './logging';

/** The root pino logger of this server instance. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
/** The pino-http middleware (access log, request id); mounted by `createServer`. */
export const HTTP_LOGGER = Symbol('HTTP_LOGGER');
const LOGGING_OPTIONS = Symbol('LOGGING_OPTIONS');

/**
 * Structured JSON logs through nestjs-pino. The root logger is built from
 * APP_CONFIG (LOG_LEVEL, LOG_PROMPTS, API_KEYS for scrubbing); the request
 * middleware (`requestObserver`, mounted first by `createServer`) creates the
 * per-request child logger, so nestjs-pino runs with `useExisting` and only
 * binds that logger to the request context. Inject nestjs-pino's `Logger` or
 * `PinoLogger`, or use Nest's `Logger` (routed here by `app.useLogger`).
 *
 * nestjs-pino keeps its out-of-request logger (startup, timers) in a module
 * global set by the first server of the process; lines written while serving
 * a request always use that request's logger. One server per process (as in
 * production) is unaffected; a test that captures startup lines runs its
 * server in a spec file of its own.
 */
@Module({})
export class ObservabilityModule {
  static forRoot(options: LoggingOptions = {}): DynamicModule {
    return {
      module: ObservabilityModule,
      global: true,
      imports: [
        LoggerModule.forRootAsync({
          inject: [ROOT_LOGGER],
          useFactory: (logger: Logger) => ({
            pinoHttp: { logger },
            useExisting: true,
            // No Nest middleware: `requestObserver` already binds the request logger, and
            // middleware mounted as Express routes would pose as the route of unrouted requests.
            forRoutes: [],
          }),
        }),
      ],
      providers: [
        { provide: LOGGING_OPTIONS, useValue: options },
        {
          provide: ROOT_LOGGER,
          inject: [APP_CONFIG, LOGGING_OPTIONS],
          useFactory: (config: AppConfig, opts: LoggingOptions) => createRootLogger(config, opts),
        },
        { provide: HTTP_LOGGER, inject: [ROOT_LOGGER], useFactory: createHttpLogger },
      ],
      exports: [ROOT_LOGGER, HTTP_LOGGER],
    };
  }
}
