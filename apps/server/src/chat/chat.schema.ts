/** OpenAPI schema of the chat request (validated by parseChatRequest in the contract's order (README, Chat API)). */
export const CHAT_REQUEST_SCHEMA = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    model: { type: 'string', example: 'chatgpt_proxyllm' },
    messages: {
      oneOf: [
        { type: 'string' },
        { type: 'array', items: { type: 'string' } },
        {
          type: 'array',
          items: {
            type: 'object',
            required: ['role', 'content'],
            properties: {
              role: { type: 'string', enum: ['system', 'user', 'assistant'] },
              content: { type: 'string' },
            },
          },
        },
      ],
    },
    stream: {
      type: 'boolean',
      description: 'Default true when any DB-GPT field is present, false otherwise (OpenAI).',
    },
    chat_mode: { type: 'string', enum: ['chat_normal', 'chat_app'], default: 'chat_normal' },
    chat_param: { type: 'string', description: 'For chat_app: the app_code.' },
    conv_uid: {
      type: 'string',
      minLength: 1,
      maxLength: 64,
      pattern: '^[A-Za-z0-9._:-]{1,64}$',
      description:
        'Conversation id (1-64 characters of A-Z a-z 0-9 - _ . :, e.g. a UUID; else 400 invalid_conv_uid); generated when absent (returned in X-Conv-Uid).',
    },
    user_name: { type: 'string' },
    sys_code: { type: 'string' },
    incremental: {
      type: 'boolean',
      default: true,
      description: 'true: each chunk carries new text; false: the whole view so far.',
    },
    enable_vis: {
      type: 'boolean',
      default: true,
      description: 'chat_app: the vis markdown (true) or the plain answer (false).',
    },
    temperature: { type: 'number', minimum: 0, maximum: 2 },
    max_tokens: { type: 'integer', minimum: 1 },
    max_new_tokens: { type: 'integer', minimum: 1, deprecated: true },
    top_p: { type: 'number', minimum: 0, maximum: 1 },
    stop: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 4 }] },
    stream_options: { type: 'object', properties: { include_usage: { type: 'boolean' } } },
    background: {
      type: 'boolean',
      default: false,
      description:
        'Durable run: it goes on when the client leaves. A stream then carries `id:` lines and can be resumed ' +
        '(GET /api/v2/chat/completions/{conv_uid}/stream); without stream the answer is 202 with the run state at once.',
    },
  },
};

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
