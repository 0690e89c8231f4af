import { SetMetadata } from '@nestjs/common';
import type { Scope } from '../keys/key.types';

export const REQUIRED_SCOPE = 'ensemble:requiredScope';

/**
 * The scope a route needs. Deny by default: a route that declares none is an
 * admin route. `chat` routes serve chat keys (and admin keys, which hold every scope).
 */
export const RequireScope = (scope: Scope) => SetMetadata(REQUIRED_SCOPE, scope);
