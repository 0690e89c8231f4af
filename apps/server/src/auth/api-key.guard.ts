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
 * Global guard, deny by default: every route needs a configured API key
 * unless marked @Public(). Keys are compared as SHA-256 digests with
 * timingSafeEqual, against every key, so timing reveals neither key nor match.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly keys: Buffer[];

  constructor(
    private readonly reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.keys = config.apiKeys.map(digest);
  }

  canActivate(context: ExecutionContext): boolean {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic || this.config.insecureNoAuth) return true;
    const token = bearerToken(context.switchToHttp().getRequest<Request>());
    if (token && this.matches(token)) return true;
    throw new ApiError(
      HttpStatus.UNAUTHORIZED,
      'invalid_api_key',
      token ? 'The API key is not valid.' : 'Missing API key: send Authorization: Bearer <key>.',
    );
  }

  private matches(token: string): boolean {
    const candidate = digest(token);
    let found = false;
    for (const key of this.keys) found = timingSafeEqual(candidate, key) || found;
    return found;
  }
}
