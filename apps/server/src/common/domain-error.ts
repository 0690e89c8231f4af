import { HttpStatus } from '@nestjs/common';
import type { ErrorCode } from './api-error';

/** What went wrong, in terms a service knows; `httpStatus` gives each kind its status. */
export enum DomainErrorKind {
  NotFound = 'not_found',
  Conflict = 'conflict',
  BadInput = 'bad_input',
}

/**
 * A failure a module reports with the `err_code` a client receives, without
 * knowing about HTTP. The global exception filter answers it.
 */
export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: ErrorCode,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The HTTP status of each kind of domain error. */
export function httpStatus(kind: DomainErrorKind): HttpStatus {
  switch (kind) {
    case DomainErrorKind.NotFound:
      return HttpStatus.NOT_FOUND;
    case DomainErrorKind.Conflict:
      return HttpStatus.CONFLICT;
    case DomainErrorKind.BadInput:
      return HttpStatus.BAD_REQUEST;
  }
}
