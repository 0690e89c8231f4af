import { DynamicModule, Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { APP_CONFIG, AppConfig } from '../config/config';
import { AccessLog, createRootLogger, LoggingOptions } from './logging';
import { PinoNestLogger } from './nest-logger';

/** The root pino logger of this server instance. */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');
/** The access log (`AccessLog`), written by `requestObserver`. */
export const ACCESS_LOG = Symbol('ACCESS_LOG');
const LOGGING_OPTIONS = Symbol('LOGGING_OPTIONS');

/**
 * Structured JSON logs through pino. The root logger is built from
 * APP_CONFIG (LOG_LEVEL, API_KEYS for scrubbing); the request middleware
 * (`requestObserver`, mounted first by `createServer`) runs each request in
 * its request context (`request-context.ts`) and writes the access log.
 * Code logs with Nest's `Logger`, which `createServer` routes to
 * `PinoNestLogger` (`app.useLogger`): inside a request the line carries its
 * `reqId`.
 *
 * Nest's `Logger` writes through one process-wide instance, the last one
 * installed with `useLogger`, for lines written outside a request (startup,
 * timers); lines written while serving a request always use that request's
 * logger. One server per process (as in production) is unaffected; a test
 * that captures startup lines runs its server in a spec file of its own.
 */
@Module({})
export class ObservabilityModule {
  static forRoot(options: LoggingOptions = {}): DynamicModule {
    return {
      module: ObservabilityModule,
      global: true,
      providers: [
        { provide: LOGGING_OPTIONS, useValue: options },
        {
          provide: ROOT_LOGGER,
          inject: [APP_CONFIG, LOGGING_OPTIONS],
          useFactory: (config: AppConfig, opts: LoggingOptions) => createRootLogger(config, opts),
        },
        { provide: ACCESS_LOG, inject: [ROOT_LOGGER], useFactory: (root: Logger) => new AccessLog(root) },
        { provide: PinoNestLogger, inject: [ROOT_LOGGER], useFactory: (root: Logger) => new PinoNestLogger(root) },
      ],
      exports: [ROOT_LOGGER, ACCESS_LOG, PinoNestLogger],
    };
  }
}
