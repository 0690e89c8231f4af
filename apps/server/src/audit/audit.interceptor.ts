import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { mergeMap, Observable } from 'rxjs';
import type { AuthenticatedRequest } from '../auth/principal';
import { IS_PUBLIC } from '../auth/public.decorator';
import { REQUIRED_SCOPE } from '../auth/scope.decorator';
import { AuditRepository } from './audit.repository';

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What a change was about: the route's parameters, or, for a create, the id the answer names. */
function targetOf(req: AuthenticatedRequest, answer: unknown): string | null {
  const params = Object.entries(req.params ?? {}).map(([k, v]) => `${k}=${String(v)}`);
  if (params.length > 0) return params.join(',');
  const data = (answer as { data?: Record<string, unknown> } | undefined)?.data;
  for (const field of ['app_code', 'id', 'db_name', 'name']) {
    const value = data?.[field];
    if (typeof value === 'string' || typeof value === 'number') return `${field}=${value}`;
  }
  return null;
}

/** Whether a route is an admin change (recorded): a write that is neither public nor a chat route. */
export function isAdminChange(
  reflector: Reflector,
  method: string,
  targets: Parameters<Reflector['getAllAndOverride']>[1],
): boolean {
  return (
    CHANGES.has(method) &&
    !reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) &&
    (reflector.getAllAndOverride<string | undefined>(REQUIRED_SCOPE, targets) ?? 'admin') === 'admin'
  );
}

/**
 * Records every successful change on an admin route (apps, keys, and the
 * other resources admins manage) with the key that made it, before the
 * answer leaves. Chat routes and reads are not recorded.
 *
 * Carried by the controllers that have admin changes, not registered
 * globally: with any interceptor on a route Nest runs its handler inside an
 * rxjs pipeline (context, deferred handler, client-disconnect watch) that
 * lives as long as the request, which for a held chat stream is memory kept
 * for nothing. `audit.interceptor.spec.ts` checks that every admin change
 * route carries it.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditRepository,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const admin = isAdminChange(this.reflector, req.method, [context.getHandler(), context.getClass()]);
    if (!admin || !req.principal) return next.handle();
    const principal = req.principal;
    const route = (req.route as { path?: string } | undefined)?.path ?? req.path;
    return next.handle().pipe(
      mergeMap(async (answer: unknown) => {
        await this.audit.append({
          keyId: principal.keyId,
          action: `${req.method} ${route}`,
          target: targetOf(req, answer),
        });
        return answer;
      }),
    );
  }
}
