import { ExecutionContext, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerStorage,
} from '@nestjs/throttler';
import type { Request } from 'express';
import { IS_PUBLIC } from '../auth/public.decorator';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, AppConfig } from '../config/config';
import { limitKey } from './limit-key';

/** The one throttler: a minute window, RATE_LIMIT_PER_MINUTE requests. */
export const RATE_LIMIT_WINDOW_MS = 60_000;

/**
 * Per-key rate limit (RATE_LIMIT_PER_MINUTE, per replica; 0 disables). One
 * budget per API key over all routes (not per route), falling back to the
 * client IP without a key. Registered after the API-key guard, so a request
 * without a valid key is refused with 401 before it counts. Public routes
 * (health, readiness, docs) and `/api/metrics` are never limited. Over the
 * limit: 429 `rate_limit_exceeded` in the dual shape with `Retry-After`.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (this.config.rateLimitPerMinute <= 0 || context.getType() !== 'http') return true;
    return !!this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    return limitKey(req as unknown as Request);
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `${name}:${tracker}`;
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfter = Math.max(1, Math.ceil(detail.timeToBlockExpire));
    throw new ApiError(
      HttpStatus.TOO_MANY_REQUESTS,
      'rate_limit_exceeded',
      `Rate limit exceeded: at most ${detail.limit} requests per minute per API key (RATE_LIMIT_PER_MINUTE); retry after ${retryAfter} s.`,
      null,
      {
        'Retry-After': String(retryAfter),
        // The limit's own headers, as on the answers under it.
        'X-RateLimit-Limit': String(detail.limit),
        'X-RateLimit-Remaining': '0',
        'X-RateLimit-Reset': String(Math.max(0, Math.ceil(detail.timeToExpire))),
      },
    );
  }
}
