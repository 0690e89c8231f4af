import { LLM_ERROR_CODES, LlmError, type LlmErrorCode } from '@ensemble/llm';
import { assertUnreachable } from '../common/assert-unreachable';
import { llmErrorToApi } from './llm-errors';

describe('llmErrorToApi', () => {
  it.each([
    ['unknown_model', 400, 'model_not_found', 'model'],
    ['bad_request', 400, 'upstream_error', null],
    ['context_length', 400, 'upstream_error', null],
    ['aborted', 503, 'service_unavailable', null],
    ['auth', 503, 'upstream_error', null],
    ['timeout', 503, 'upstream_error', null],
    ['upstream', 503, 'upstream_error', null],
    ['connection', 503, 'upstream_error', null],
    ['malformed_stream', 503, 'upstream_error', null],
    ['no_model_available', 503, 'upstream_error', null],
  ] as const)('maps %s to %i %s', (code, status, apiCode, param) => {
    const error = llmErrorToApi(new LlmError(code, 'why'));
    expect([error.getStatus(), error.code, error.param]).toEqual([status, apiCode, param]);
  });

  it('answers every code with an error status', () => {
    const statuses = LLM_ERROR_CODES.map((code) => llmErrorToApi(new LlmError(code, 'why')).getStatus());
    expect(statuses.filter((s) => s < 400 || s === 500)).toEqual([]);
  });

  it('throws on a code outside the union instead of answering', () => {
    expect(() => llmErrorToApi(new LlmError('brand_new' as LlmErrorCode, 'why'))).toThrow(
      'unexpected value: "brand_new"',
    );
    expect(() => assertUnreachable(7 as never)).toThrow('unexpected value: 7');
  });
});
