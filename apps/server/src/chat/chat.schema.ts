const USAGE_SCHEMA = {
  type: 'object',
  properties: {
    prompt_tokens: { type: 'integer' },
    completion_tokens: { type: 'integer' },
    total_tokens: { type: 'integer' },
  },
};

/** A stream's body: SSE frames, for the OpenAPI document (a stream has no JSON schema of its own). */
export const SSE_STREAM_SCHEMA = {
  type: 'string',
  description:
    '`data: <chat.completion.chunk JSON>` frames separated by blank lines (`: ping` comments during silences), then ' +
    '`data: [DONE]`. A failure after the stream started is a chunk with an `error` object (the dual error fields).',
  example:
    'data: {"id":"chatcmpl-…","object":"chat.completion.chunk","created":1764500000,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\ndata: [DONE]\n\n',
};

/** The non-stream answer (`stream: false`): one `chat.completion`. */
export const CHAT_COMPLETION_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    object: { type: 'string', enum: ['chat.completion'] },
    created: { type: 'integer' },
    model: { type: 'string' },
    choices: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          index: { type: 'integer' },
          message: {
            type: 'object',
            properties: { role: { type: 'string', enum: ['assistant'] }, content: { type: 'string' } },
          },
          finish_reason: { type: 'string', enum: ['stop', 'length', 'content_filter', 'error'] },
        },
      },
    },
    usage: USAGE_SCHEMA,
  },
};
