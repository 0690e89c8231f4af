import { ExecutionContext, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  ThrottlerModuleOptions,
  ThrottlerRequest,
} from '@nestjs/throttler';
import type { Request } from 'express';
import { IS_PUBLIC } from '../auth/public.decorator';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, AppConfig } from '../config/config';
import { limitSubject } from './limit-key';
import { PgThrottlerStorage } from './pg-throttler-storage';

/** The one throttler: a minute window, RATE_LIMIT_PER_MINUTE requests. */
export const RATE_LIMIT_WINDOW_MS = 60_000;

/**
 * Per-key rate limit over every replica (the key's `rate_limit_per_minute`,
 * else RATE_LIMIT_PER_MINUTE; 0 disables), counted in the shared database
 * (`PgThrottlerStorage`). One budget per API key over all routes (not per
 * route), falling back to the client IP without authentication. Registered
 * after the API-key guard, so a request without a valid key is refused with
 * 401 before it counts. Public routes (health, readiness, docs) and
 * `/api/metrics` are never limited. Every answer of a limited route carries
 * `X-RateLimit-Limit/Remaining/Reset` (set here, before the handler, so
 * error answers keep them); over the limit: 429 `rate_limit_exceeded` in
 * the dual shape with `Retry-After` and the same headers.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    // Named: the parent's parameter decorators would otherwise inject the in-memory storage here.
    @Inject(PgThrottlerStorage) storage: PgThrottlerStorage,
    reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super(options, storage, reflector);
  }

  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()])) return true;
    return this.limitOf(context.switchToHttp().getRequest<Request>()) <= 0;
  }

  /** The key's own limit, else the server's. */
  protected override handleRequest(props: ThrottlerRequest): Promise<boolean> {
    return super.handleRequest({ ...props, limit: this.limitOf(props.context.switchToHttp().getRequest<Request>()) });
  }

  protected override async getTracker(req: Record<string, unknown>): Promise<string> {
    return limitSubject(req as unknown as Request).key;
  }

  private limitOf(req: Request): number {
    return limitSubject(req).rateLimitPerMinute ?? this.config.rateLimitPerMinute;
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
      `Rate limit exceeded: at most ${detail.limit} requests per minute for this API key; retry after ${retryAfter} s.`,
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
