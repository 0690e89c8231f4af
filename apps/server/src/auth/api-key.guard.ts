import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError } from '../common/api-error';
import { hasScope, Principal, Scope } from '../keys/key.types';
import { KeysService } from '../keys/keys.service';
import { AuthenticatedRequest } from './principal';
import { IS_PUBLIC } from './public.decorator';
import { REQUIRED_SCOPE } from './scope.decorator';

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
  ) {}

  /** Synchronous when the key is known without the database (bootstrap keys, cached stored keys). */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const needed = this.reflector.getAllAndOverride<Scope | undefined>(REQUIRED_SCOPE, targets) ?? 'admin';
    const principal = this.keys.authenticateRequest(req);
    return principal instanceof Promise
      ? principal.then((p) => this.admit(req, p, needed))
      : this.admit(req, principal, needed);
  }

  /** Keeps the caller on the request when it may use the route; throws the 401 or 403 otherwise. */
  private admit(req: AuthenticatedRequest, principal: Principal | null, needed: Scope): true {
    if (!principal) throw this.keys.refusal(req);
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
