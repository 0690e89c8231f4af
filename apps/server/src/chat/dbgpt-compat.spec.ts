import { ApiError } from '../common/api-error';
import { ChunkFrames } from './chunks';
import { clientFinishReason, failureNote } from './dbgpt-compat';

describe('answers DB-GPT’s client reads', () => {
  it('DB-GPT requests get only stop and length; others get the model’s reason', () => {
    const reasons = ['stop', 'length', 'content_filter', 'error'] as const;
    expect(reasons.map((r) => clientFinishReason(r, true))).toEqual(['stop', 'length', 'stop', 'stop']);
    expect(reasons.map((r) => clientFinishReason(r, false))).toEqual([...reasons]);
  });

  it('the final chunk carries empty content; a failure is a chunk with content, stop and error', () => {
    const frames = new ChunkFrames('conv-1', 'm', 1700000000);
    const parse = (frame: string) => JSON.parse(frame.slice('data: '.length)) as unknown;
    expect(parse(frames.finish('stop'))).toEqual({
      id: 'conv-1',
      object: 'chat.completion.chunk',
      created: 1700000000,
      model: 'm',
      choices: [{ index: 0, delta: { content: '' }, finish_reason: 'stop' }],
    });
    const error = new ApiError(500, 'run_failed', 'no model answered');
    expect(parse(frames.failure(failureNote(error.message, 'earlier text'), error.body()))).toEqual({
      id: 'conv-1',
      object: 'chat.completion.chunk',
      created: 1700000000,
      model: 'm',
      choices: [
        {
          index: 0,
          delta: { role: 'assistant', content: '\n\nThe answer could not be completed: no model answered' },
          finish_reason: 'stop',
        },
      ],
      error: { message: 'no model answered', type: 'server_error', param: null, code: 'run_failed' },
    });
    expect(failureNote('x', '')).toBe('The answer could not be completed: x');
  });
});
