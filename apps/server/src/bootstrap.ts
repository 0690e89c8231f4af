import { INestApplication, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule, ResolvedConfig } from './app.module';
import { ERROR_SCHEMA } from './common/api-docs';
import { jsonBodyParser } from './common/body-parser';

export const API_PREFIX = 'api';

/** Builds the OpenAPI document of every route. */
export function buildOpenApi(app: INestApplication) {
  const config = new DocumentBuilder()
    .setTitle('Ensemble')
    .setDescription("Multi-agent apps over DB-GPT's v2 App API. Every route needs `Authorization: Bearer <key>` except health, readiness and these docs.")
    .setVersion('0.1.0')
    .addBearerAuth()
    .build();
  const document = SwaggerModule.createDocument(app, config);
  document.components = { ...document.components, schemas: { ...document.components?.schemas, Error: ERROR_SCHEMA as never } };
  return document;
}

/** Creates the configured Nest application (not yet listening); shared by main.ts and the tests. */
export async function createServer(config: ResolvedConfig, options: { logger?: false } = {}): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    logger: options.logger === false ? false : undefined,
  });
  app.use(jsonBodyParser(config.bodyLimit));
  app.set('x-powered-by', false);
  app.setGlobalPrefix(API_PREFIX);
  app.enableShutdownHooks();
  SwaggerModule.setup(`${API_PREFIX}/docs`, app, () => buildOpenApi(app), { jsonDocumentUrl: `${API_PREFIX}/docs-json` });
  if (config.insecureNoAuth) {
    new Logger('Auth').warn('ENSEMBLE_INSECURE_NO_AUTH is set and API_KEYS is empty: every route is open. Development only.');
  }
  return app;
}
