import { LlmError } from '../errors';
import { connectionError, httpStatusError, streamEventError } from './upstream-errors';

const ctx = { model: 'gpt', secrets: ['sk-secret-1'] };
const openaiBody = (message: string, code: string | null = null) =>
  JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code } });

describe('httpStatusError', () => {
  it.each([
    [400, 'bad_request', false],
    [401, 'auth', false],
    [402, 'auth', false],
    [403, 'auth', false],
    [404, 'upstream', true],
    [408, 'timeout', true],
    [413, 'bad_request', false],
    [422, 'bad_request', false],
    [429, 'rate_limit', true],
    [500, 'upstream', true],
    [502, 'upstream', true],
    [503, 'upstream', true],
  ] as const)('maps %i to %s (retryable: %s)', (status, code, retryable) => {
    const error = httpStatusError(status, openaiBody('why'), {}, ctx);
    expect(error).toBeInstanceOf(LlmError);
    expect([error.code, error.status, error.model, error.retryable, error.message]).toEqual([
      code,
      status,
      'gpt',
      retryable,
      `model "gpt": the upstream answered ${status}: why`,
    ]);
  });

  it('recognises a context overflow by code or by message', () => {
    expect(httpStatusError(400, openaiBody('too long', 'context_length_exceeded'), {}, ctx).code).toBe(
      'context_length',
    );
    expect(httpStatusError(400, openaiBody("This model's maximum context length is 8192 tokens"), {}, ctx).code).toBe(
      'context_length',
    );
  });

  it('reads how long a rate limit asks to wait', () => {
    expect(httpStatusError(429, '', { 'retry-after': '2' }, ctx).retryAfterMs).toBe(2000);
    expect(httpStatusError(429, '', { 'retry-after-ms': '150' }, ctx).retryAfterMs).toBe(150);
    expect(httpStatusError(429, '', {}, ctx).retryAfterMs).toBeUndefined();
  });

  it('keeps a body that is not JSON, says when there is none, and shows an error without a message whole', () => {
    expect(httpStatusError(502, '<html>Bad Gateway</html>', {}, ctx).message).toBe(
      'model "gpt": the upstream answered 502: <html>Bad Gateway</html>',
    );
    expect(httpStatusError(503, '', {}, ctx).message).toBe(
      'model "gpt": the upstream answered 503: status code (no body)',
    );
    expect(httpStatusError(500, '{"error":{"type":"server_error"}}', {}, ctx).message).toBe(
      'model "gpt": the upstream answered 500: {"type":"server_error"}',
    );
  });

  it('never repeats the key or a bearer token', () => {
    const error = httpStatusError(
      401,
      openaiBody('Incorrect API key provided: sk-secret-1, header "Bearer sk-secret-1"'),
      {},
      ctx,
    );
    expect(error.message).toBe(
      'model "gpt": the upstream answered 401: Incorrect API key provided: ***, header "Bearer ***"',
    );
  });
});

describe('streamEventError', () => {
  it('is an upstream error with the event message', () => {
    expect(streamEventError({ error: { message: 'worker crashed' } }, ctx)).toMatchObject({
      code: 'upstream',
      status: undefined,
      message: 'model "gpt": the upstream reported an error: worker crashed',
    });
    expect(streamEventError({ error: 'overloaded' }, ctx).message).toBe(
      'model "gpt": the upstream reported an error: overloaded',
    );
    expect(streamEventError({ error: {} }, ctx).message).toBe('model "gpt": the upstream reported an error: {}');
  });
});

describe('connectionError', () => {
  it('is a retryable connection error naming the Node error code', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    const tls = Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    expect(connectionError(refused, ctx)).toMatchObject({
      code: 'connection',
      retryable: true,
      message: 'model "gpt": could not reach the upstream (connect ECONNREFUSED 127.0.0.1:9)',
    });
    expect(connectionError(tls, ctx).message).toBe(
      'model "gpt": could not reach the upstream (self-signed certificate [DEPTH_ZERO_SELF_SIGNED_CERT])',
    );
  });
});
