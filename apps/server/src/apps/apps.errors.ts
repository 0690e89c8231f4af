import { DomainError, DomainErrorKind } from '../common/domain-error';

/** The ways an apps operation fails; each value is the `err_code` a client receives. */
export enum AppsErrorCode {
  AppNotFound = 'app_not_found',
  AppNameConflict = 'app_name_conflict',
  AppCodeConflict = 'app_code_conflict',
  InvalidInput = 'validation_error',
}

const KIND: Record<AppsErrorCode, DomainErrorKind> = {
  [AppsErrorCode.AppNotFound]: DomainErrorKind.NotFound,
  [AppsErrorCode.AppNameConflict]: DomainErrorKind.Conflict,
  [AppsErrorCode.AppCodeConflict]: DomainErrorKind.Conflict,
  [AppsErrorCode.InvalidInput]: DomainErrorKind.BadInput,
};

/** A failure of the apps module; the global filter answers it with its kind's status. */
export class AppsError extends DomainError {
  constructor(
    override readonly code: AppsErrorCode,
    message: string,
    param: string | null = null,
  ) {
    super(KIND[code], code, message, param);
  }

  static notFound(appCode: string): AppsError {
    return new AppsError(AppsErrorCode.AppNotFound, `App ${JSON.stringify(appCode)} was not found.`, 'app_code');
  }

  static nameTaken(): AppsError {
    return new AppsError(AppsErrorCode.AppNameConflict, 'An app with this app_name already exists.', 'app_name');
  }

  static codeTaken(): AppsError {
    return new AppsError(AppsErrorCode.AppCodeConflict, 'An app with this app_code already exists.', 'app_code');
  }

  /** Text Postgres cannot store (a NUL character). */
  static nulInText(): AppsError {
    return new AppsError(AppsErrorCode.InvalidInput, 'Text must not contain NUL (\\u0000) characters.');
  }

  static invalid(message: string, param: string | null): AppsError {
    return new AppsError(AppsErrorCode.InvalidInput, message, param);
  }
}
