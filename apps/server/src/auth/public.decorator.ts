import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'ensemble:isPublic';

/** Opts a route out of the API-key guard. Only health, readiness and docs use it. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
