import { CanActivate, ExecutionContext, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, AppConfig } from '../config/config';
import { IS_PUBLIC } from './public.decorator';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Reads the bearer token of `Authorization: Bearer <key>`. */
export function bearerToken(req: Pick<Request, 'headers'>): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1].trim();
}

/**
 * Checks a bearer token against the configured keys: compared as SHA-256
 * digests with timingSafeEqual, against every key, so timing reveals
 * neither key nor match. True for any request when auth is off
 * (`ENSEMBLE_INSECURE_NO_AUTH`).
 */
@Injectable()
export class ApiKeys {
  private readonly keys: Buffer[];

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.keys = config.apiKeys.map(digest);
  }

  /** True when the request may go past authentication. */
  accepts(req: Pick<Request, 'headers'>): boolean {
    if (this.config.insecureNoAuth) return true;
    const token = bearerToken(req);
    return !!token && this.matches(token);
  }

  /** The 401 of a request `accepts` refused. */
  refusal(req: Pick<Request, 'headers'>): ApiError {
    return new ApiError(
      HttpStatus.UNAUTHORIZED,
      'invalid_api_key',
      bearerToken(req) ? 'The API key is not valid.' : 'Missing API key: send Authorization: Bearer <key>.',
    );
  }

  private matches(token: string): boolean {
    const candidate = digest(token);
    let found = false;
    for (const key of this.keys) found = timingSafeEqual(candidate, key) || found;
    return found;
  }
}

/**
 * Global guard, deny by default: every route needs a configured API key
 * unless marked @Public() (see `ApiKeys`).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeys,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const req = context.switchToHttp().getRequest<Request>();
    if (this.keys.accepts(req)) return true;
    throw this.keys.refusal(req);
  }
}
