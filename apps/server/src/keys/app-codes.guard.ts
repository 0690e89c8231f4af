import { CanActivate, ExecutionContext, HttpStatus, Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error';
import { AuthenticatedRequest } from '../auth/principal';

/**
 * For the chat route: a key limited to some apps (`app_codes`) may run only
 * those apps (`chat_mode: chat_app` with one of them as `chat_param`).
 */
@Injectable()
export class AppCodesGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const allowed = req.principal?.appCodes;
    if (!allowed) return true;
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.chat_mode === 'chat_app' && typeof body.chat_param === 'string' && allowed.includes(body.chat_param)) {
      return true;
    }
    throw new ApiError(
      HttpStatus.FORBIDDEN,
      'insufficient_scope',
      `This key may only run these apps (chat_mode "chat_app"): ${allowed.join(', ')}.`,
      'chat_param',
    );
  }
}
