import { DomainError, DomainErrorKind } from '../common/domain-error';

/** A failure of the conversations module; the global filter answers it with its kind's status. */
export class ConversationsError extends DomainError {
  /** Text Postgres cannot store (a NUL character). */
  static nulInText(): ConversationsError {
    return new ConversationsError(
      DomainErrorKind.BadInput,
      'validation_error',
      'Text must not contain NUL (\\u0000) characters.',
    );
  }
}
