import { LlmError, retryAfterMs, scrubSecrets, toLlmError } from './errors';

describe('LlmError', () => {
  it.each([
    ['rate_limit', true],
    ['timeout', true],
    ['upstream', true],
    ['connection', true],
    ['auth', false],
    ['bad_request', false],
    ['context_length', false],
    ['malformed_stream', false],
    ['aborted', false],
    ['unknown_model', false],
    ['no_model_available', false],
  ] as const)('%s is retryable: %s', (code, retryable) => {
    expect(new LlmError(code, 'x').retryable).toBe(retryable);
  });

  it('is an Error with its details', () => {
    const error = new LlmError('rate_limit', 'slow down', { status: 429, model: 'gpt-4o', retryAfterMs: 1000 });

    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'LlmError',
      code: 'rate_limit',
      status: 429,
      model: 'gpt-4o',
      retryAfterMs: 1000,
    });
  });
});

describe('toLlmError', () => {
  it('returns an LlmError unchanged', () => {
    const error = new LlmError('auth', 'no');
    expect(toLlmError(error, { model: 'x' })).toBe(error);
  });

  it('maps plain errors by kind', () => {
    expect(toLlmError(new SyntaxError('Unexpected token')).code).toBe('malformed_stream');
    expect(toLlmError(Object.assign(new Error('gone'), { name: 'AbortError' })).code).toBe('aborted');
    expect(
      toLlmError(
        new TypeError('terminated', {
          cause: Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }),
        }),
      ),
    ).toMatchObject({
      code: 'connection',
      message: 'the upstream connection failed (terminated: other side closed [UND_ERR_SOCKET])',
    });
    expect(toLlmError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }))).toMatchObject({
      code: 'connection',
      message: 'the upstream connection failed (read ECONNRESET)',
    });
    expect(toLlmError(Object.assign(new Error('getaddrinfo failed'), { code: 'ENOTFOUND' })).message).toBe(
      'the upstream connection failed (getaddrinfo failed [ENOTFOUND])',
    );
    expect(toLlmError(new Error('something else'))).toMatchObject({ code: 'upstream', message: 'something else' });
    expect(toLlmError('weird').code).toBe('upstream');
  });

  it('names the model and scrubs secrets', () => {
    const error = toLlmError(new Error('key sk-live-123 rejected'), { model: 'gpt-4o', secrets: ['sk-live-123'] });

    expect(error.message).toBe('model "gpt-4o": key *** rejected');
    expect(error.model).toBe('gpt-4o');
  });
});

describe('retryAfterMs', () => {
  it('prefers retry-after-ms, then retry-after seconds, then an HTTP date', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(retryAfterMs({ 'retry-after-ms': '250', 'retry-after': '9' }, now)).toBe(250);
    expect(retryAfterMs({ 'retry-after': '1.5' }, now)).toBe(1500);
    expect(retryAfterMs({ 'retry-after': 'Wed, 01 Jan 2025 00:00:04 GMT' }, now)).toBe(4000);
    expect(retryAfterMs({ 'retry-after': ['soon', '3'] }, now)).toBeUndefined();
    expect(retryAfterMs(undefined, now)).toBeUndefined();
  });
});

describe('scrubSecrets', () => {
  it('removes every occurrence of each secret and any bearer token', () => {
    expect(scrubSecrets('a KEY b KEY', ['KEY'])).toBe('a *** b ***');
    expect(scrubSecrets('sent Authorization: Bearer abc.def-123, got 401')).toBe(
      'sent Authorization: Bearer ***, got 401',
    );
    expect(scrubSecrets('nothing to hide', ['', 'absent'])).toBe('nothing to hide');
  });
});
