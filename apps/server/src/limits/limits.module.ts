import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { APP_CONFIG, AppConfig } from '../config/config';
import { RATE_LIMIT_WINDOW_MS, RateLimitGuard } from './rate-limit.guard';
import { RunLimiter } from './run-limiter';

/**
 * Request rate limiting (a global guard after the API-key guard) and the
 * per-key concurrent-run cap (`RunLimiter`, global for the chat module).
 * Both count in this process's memory: limits are per replica.
 */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        throttlers: [{ name: 'default', ttl: RATE_LIMIT_WINDOW_MS, limit: Math.max(1, config.rateLimitPerMinute) }],
      }),
    }),
  ],
  providers: [RunLimiter, { provide: APP_GUARD, useClass: RateLimitGuard }],
  exports: [RunLimiter],
})
export class LimitsModule {}
