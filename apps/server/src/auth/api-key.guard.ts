import { CanActivate, ExecutionContext, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, AppConfig } from '../config/config';
import { hasScope, Scope } from '../keys/key.types';
import { KeysService } from '../keys/keys.service';
import { AuthenticatedRequest, INSECURE_PRINCIPAL } from './principal';
import { IS_PUBLIC } from './public.decorator';
import { REQUIRED_SCOPE } from './scope.decorator';

/** Reads the bearer token of `Authorization: Bearer <key>`. */
export function bearerToken(req: Pick<Request, 'headers'>): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header.trim());
  return match?.[1].trim();
}

/**
 * Global guard, deny by default: every route needs a valid API key (a
 * bootstrap key of API_KEYS, or a stored key) unless marked @Public(), and
 * the scope it declares with @RequireScope() (admin when it declares none).
 * The caller is kept on the request (`principalOf`).
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: KeysService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    if (this.config.insecureNoAuth) {
      req.principal = INSECURE_PRINCIPAL;
      return true;
    }
    const token = bearerToken(req);
    const principal = token ? await this.keys.authenticate(token) : null;
    if (!principal) {
      throw new ApiError(
        HttpStatus.UNAUTHORIZED,
        'invalid_api_key',
        token ? 'The API key is not valid.' : 'Missing API key: send Authorization: Bearer <key>.',
      );
    }
    const needed = this.reflector.getAllAndOverride<Scope | undefined>(REQUIRED_SCOPE, targets) ?? 'admin';
    if (!hasScope(principal, needed)) {
      throw new ApiError(
        HttpStatus.FORBIDDEN,
        'insufficient_scope',
        `This route needs a key with the "${needed}" scope; this key has: ${principal.scopes.join(', ')}.`,
      );
    }
    req.principal = principal;
    return true;
  }
}
