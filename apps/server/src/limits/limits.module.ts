import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '../config/config';
import { ConversationsModule } from '../conversations/conversations.module';
import { LimitsRepository } from './limits.repository';
import { PgThrottlerStorage } from './pg-throttler-storage';
import { RATE_LIMIT_WINDOW_MS, RateLimitGuard } from './rate-limit.guard';
import { RunLimiter } from './run-limiter';

/**
 * Request rate limiting (a global guard after the API-key guard) and the
 * per-key concurrent-run cap (`RunLimiter`, global for the chat module).
 * Both count in the shared database, so they hold over every replica.
 */
@Global()
@Module({
  imports: [
    ConversationsModule,
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        // The limit here is the default; the guard applies a key's own (`rate_limit_per_minute`) over it.
        throttlers: [{ name: 'default', ttl: RATE_LIMIT_WINDOW_MS, limit: Math.max(1, config.rateLimitPerMinute) }],
      }),
    }),
  ],
  providers: [LimitsRepository, PgThrottlerStorage, RunLimiter, { provide: APP_GUARD, useClass: RateLimitGuard }],
  exports: [RunLimiter],
})
export class LimitsModule {}
