import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { LlmModule } from '@ensemble/llm';
import { AppsModule } from './apps/apps.module';
import { AuditModule } from './audit/audit.module';
import { KeysModule } from './keys/keys.module';
import { ChatModule } from './chat/chat.module';
import { ConversationsModule } from './conversations/conversations.module';
import { ApiKeyGuard } from './auth/api-key.guard';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { createValidationPipe } from './common/validation';
import { ResolvedConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { DatasourcesModule } from './datasources/datasources.module';
import { HealthModule } from './health/health.module';
import { KnowledgeModule } from './knowledge/knowledge.module';
import { LimitsModule } from './limits/limits.module';
import { LoggingOptions } from './observability/logging';
import { MetricsModule } from './observability/metrics.module';
import { ObservabilityModule } from './observability/observability.module';
import { ToolsModule } from './tools/tools.module';

/** Wires the modules; the guard, validation pipe and error filter apply to every route. */
@Module({})
export class AppModule {
  static forRoot(config: ResolvedConfig, logging: LoggingOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot(logging),
        MetricsModule.forRoot(),
        LimitsModule,
        DatabaseModule.forRoot(config),
        LlmModule.forRoot({ modelsFile: config.modelsFile, isGlobal: true }),
        // First of the route modules: the router tries routes in registration order, so the chat
        // endpoint (every request of the hot path) is matched without testing the admin routes' patterns.
        ChatModule,
        KeysModule,
        AuditModule,
        HealthModule,
        AppsModule,
        KnowledgeModule,
        DatasourcesModule,
        ConversationsModule,
        ToolsModule,
      ],
      providers: [
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
