import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { DestinationStream } from 'pino';
import { AppModule } from './app.module';
import type { ResolvedConfig } from './config/config';
import { ERROR_SCHEMA } from './common/api-docs';
import { jsonBodyParser } from './common/body-parser';
import { MetricsService } from './observability/metrics.service';
import { PinoNestLogger } from './observability/nest-logger';
import { ACCESS_LOG, ROOT_LOGGER } from './observability/observability.module';
import { requestObserver } from './observability/request-observer';
import { quietWiring, shortKeysWarning } from './observability/startup';

export const API_PREFIX = 'api';

/** Builds the OpenAPI document of every route. */
export function buildOpenApi(app: INestApplication) {
  const config = new DocumentBuilder()
    .setTitle('Ensemble')
    .setDescription(
      "Multi-agent apps over DB-GPT's v2 App API. Every route needs `Authorization: Bearer <key>` except health, readiness and these docs.",
    )
    .setVersion('0.1.0')
    .addBearerAuth()
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, Error: ERROR_SCHEMA as never },
  };
  return document;
}

export interface ServerOptions {
  /** `false`: no logs at all (tests), unless `logDestination` is given. */
  logger?: false;
  /** Write the JSON log lines here instead of stdout (tests capture them), at LOG_LEVEL. */
  logDestination?: DestinationStream;
}

/** Creates the configured Nest application (not yet listening); shared by main.ts and the tests. */
export async function createServer(
  config: ResolvedConfig,
  options: ServerOptions = {},
): Promise<NestExpressApplication> {
  const logs = options.logger !== false || options.logDestination !== undefined;
  const logging = { destination: options.logDestination, level: logs ? undefined : 'silent' };
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logging), {
    bodyParser: false,
    logger: logs ? undefined : false,
    bufferLogs: logs,
  });
  if (logs) app.useLogger(quietWiring(app.get(PinoNestLogger)));
  // First, so even a body the parser rejects gets a request id, a log line and a metric.
  app.use(requestObserver(app.get(ROOT_LOGGER), app.get(ACCESS_LOG), app.get(MetricsService)));
  app.use(jsonBodyParser(config.bodyLimit));
  app.set('x-powered-by', false);
  // Responses are dynamic API answers: no ETag (a SHA-1 over every JSON body, for conditional GETs no client makes).
  app.set('etag', false);
  app.setGlobalPrefix(API_PREFIX);
  SwaggerModule.setup(`${API_PREFIX}/docs`, app, () => buildOpenApi(app), {
    jsonDocumentUrl: `${API_PREFIX}/docs-json`,
  });
  if (config.insecureNoAuth) {
    new Logger('Auth').warn(
      'ENSEMBLE_INSECURE_NO_AUTH is set and API_KEYS is empty: every route is open. Development only.',
    );
  }
  const shortKeys = shortKeysWarning(config.apiKeys);
  if (shortKeys) new Logger('Auth').warn(shortKeys);
  return app;
}

/**
 * Graceful close: the server stops accepting connections (idle keep-alive
 * ones close now), then the application closes: open chat runs get
 * SHUTDOWN_GRACE_MS to finish before they are cancelled, then the pool
 * closes.
 */
export async function closeServer(app: INestApplication): Promise<void> {
  const server = app.getHttpServer() as Server;
  server.close();
  server.closeIdleConnections();
  await app.close();
}
