import { DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { APP_CONFIG, AppConfig } from '../config/config';
import { AccessLog, createRootLogger, LoggingOptions } from './logging';

/** The root pino logger of this server instance. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
/** The access log (`AccessLog`), written by `requestObserver`. */
export const ACCESS_LOG = Symbol('ACCESS_LOG');
const LOGGING_OPTIONS = Symbol('LOGGING_OPTIONS');

/**
 * Structured JSON logs through nestjs-pino. The root logger is built from
 * APP_CONFIG (LOG_LEVEL, LOG_PROMPTS, API_KEYS for scrubbing); the request
 * middleware (`requestObserver`, mounted first by `createServer`) puts each
 * request's logger context (a child logger with `reqId`, made on first use)
 * in nestjs-pino's request storage and writes the access log, so nestjs-pino
 * runs with `useExisting` and mounts no middleware of its own. Inject nestjs-pino's `Logger` or
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
        { provide: ACCESS_LOG, inject: [ROOT_LOGGER], useFactory: (root: Logger) => new AccessLog(root) },
      ],
      exports: [ROOT_LOGGER, ACCESS_LOG],
    };
  }
}
