import { DomainError, DomainErrorKind } from '../common/domain-error';

/** The ways the runs repository refuses input; each value is the `err_code` a client receives. */
export enum ConversationsErrorCode {
  InvalidInput = 'validation_error',
}

const KIND: Record<ConversationsErrorCode, DomainErrorKind> = {
  [ConversationsErrorCode.InvalidInput]: DomainErrorKind.BadInput,
};

/** A failure of the conversations module; the global filter answers it with its kind's status. */
export class ConversationsError extends DomainError {
  constructor(
    override readonly code: ConversationsErrorCode,
    message: string,
    param: string | null = null,
  ) {
    super(KIND[code], code, message, param);
  }

  /** Text Postgres cannot store (a NUL character). */
  static nulInText(): ConversationsError {
    return new ConversationsError(
      ConversationsErrorCode.InvalidInput,
      'Text must not contain NUL (\\u0000) characters.',
    );
  }
}
