import 'reflect-metadata';
import { quickChecks } from '@ensemble/llm';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, validateSync } from 'class-validator';
import { ApiError } from '../common/api-error';
import { ChatRequestPipe } from './chat-request.pipe';
import { CHAT_REQUEST_STEPS, ChatRequestDto, StreamOptionsDto } from './dto/chat-request.dto';

const pipe = new ChatRequestPipe();

/** The error a body answers with: [status, code, message, param]. */
function refusal(body: unknown): [number, string, string, string | null] {
  try {
    pipe.transform(body);
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return [e.getStatus(), e.code, e.message, e.param];
  }
  throw new Error(`accepted: ${JSON.stringify(body)}`);
}

const OK = { model: 'm', messages: 'hi' };

describe('ChatRequestPipe', () => {
  describe('a valid request', () => {
    it('gets the OpenAI defaults without DB-GPT fields', () => {
      expect(pipe.transform({ model: 'gpt', messages: 'Hello' })).toEqual({
        model: 'gpt',
        messages: [{ role: 'user', content: 'Hello' }],
        input: 'Hello',
        stream: false,
        chatMode: 'chat_normal',
        chatParam: undefined,
        convUid: undefined,
        userName: undefined,
        sysCode: undefined,
        incremental: true,
        enableVis: true,
        includeUsage: false,
        background: false,
        temperature: undefined,
        maxTokens: undefined,
        topP: undefined,
        stop: undefined,
        dbgptFamily: false,
      });
    });

    it('streams by default when any DB-GPT field is present, even null; an explicit stream wins', () => {
      for (const field of ['chat_mode', 'conv_uid', 'incremental', 'enable_vis', 'user_name', 'sys_code']) {
        const request = pipe.transform({ ...OK, [field]: null });
        expect([field, request.stream, request.dbgptFamily]).toEqual([field, true, true]);
      }
      expect(pipe.transform({ ...OK, chat_mode: 'chat_app', chat_param: 'a', stream: false }).stream).toBe(false);
      expect(pipe.transform({ ...OK, stream: true }).stream).toBe(true);
    });

    it('reads every field, null as absent, unknown fields ignored', () => {
      const request = pipe.transform({
        model: 'gpt',
        messages: 'q',
        chat_mode: 'chat_app',
        chat_param: 'app-1',
        conv_uid: 'c-1:2.3_4',
        user_name: 'ada',
        sys_code: 'docs',
        incremental: false,
        enable_vis: false,
        background: true,
        temperature: 0.5,
        top_p: 1,
        stop: 'END',
        stream_options: { include_usage: true },
        tools: [{ type: 'function' }],
        stream: null,
      });
      expect(request).toMatchObject({
        chatMode: 'chat_app',
        chatParam: 'app-1',
        convUid: 'c-1:2.3_4',
        userName: 'ada',
        sysCode: 'docs',
        incremental: false,
        enableVis: false,
        background: true,
        temperature: 0.5,
        topP: 1,
        stop: ['END'],
        includeUsage: true,
        stream: true,
      });
      expect(pipe.transform({ ...OK, stop: ['a', 'b'], stream_options: { include_usage: null } })).toMatchObject({
        stop: ['a', 'b'],
        includeUsage: false,
      });
    });

    it('takes max_new_tokens as max_tokens; max_tokens wins and then max_new_tokens is not read', () => {
      expect(pipe.transform({ ...OK, max_new_tokens: 20 }).maxTokens).toBe(20);
      expect(pipe.transform({ ...OK, max_tokens: 10, max_new_tokens: 20 }).maxTokens).toBe(10);
      expect(pipe.transform({ ...OK, max_tokens: 10, max_new_tokens: 'many' }).maxTokens).toBe(10);
    });

    it.each([
      ['a string', 'Hi', [{ role: 'user', content: 'Hi' }], 'Hi'],
      [
        'a list of strings (user turns)',
        ['one', 'two'],
        [
          { role: 'user', content: 'one' },
          { role: 'user', content: 'two' },
        ],
        'two',
      ],
      [
        '{role, content} objects, developer as system',
        [
          { role: 'developer', content: 'Be brief.' },
          { role: 'system', content: 'S' },
          { role: 'user', content: 'Q1' },
          { role: 'assistant', content: 'A1' },
        ],
        [
          { role: 'system', content: 'Be brief.' },
          { role: 'system', content: 'S' },
          { role: 'user', content: 'Q1' },
          { role: 'assistant', content: 'A1' },
        ],
        'Q1',
      ],
      [
        'text-part content, joined',
        [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Hello, ' },
              { type: 'text', text: 'world' },
            ],
          },
        ],
        [{ role: 'user', content: 'Hello, world' }],
        'Hello, world',
      ],
      [
        'strings and objects mixed',
        ['first', { role: 'assistant', content: [] }, { role: 'user', content: 'last' }],
        [
          { role: 'user', content: 'first' },
          { role: 'assistant', content: '' },
          { role: 'user', content: 'last' },
        ],
        'last',
      ],
    ])('messages as %s', (_shape, messages, expected, input) => {
      const request = pipe.transform({ model: 'm', messages });
      expect(request.messages).toEqual(expected);
      expect(request.input).toBe(input);
    });
  });

  describe('errors', () => {
    it('answer in the contract order: each body fails the step shown and later ones too', () => {
      const mode = 'chat_mode must be one of: chat_normal, chat_app, chat_data, chat_db_qa, chat_knowledge';
      const cases: [unknown, [number, string, string, string | null]][] = [
        [
          { chat_mode: 'chat_dashboard', conv_uid: '!' },
          [400, 'unsupported_chat_mode', 'chat_mode "chat_dashboard" is not served here.', 'chat_mode'],
        ],
        [
          { chat_mode: 'chat_app', chat_param: ' ', messages: [], conv_uid: '!' },
          [
            400,
            'invalid_chat_param',
            'chat_param is required for chat_mode "chat_app" (for chat_app: the app_code; chat_data, chat_db_qa: the datasource name).',
            'chat_param',
          ],
        ],
        [
          { chat_mode: 5, messages: 'x', model: 'm' },
          [
            400,
            'invalid_chat_param',
            'chat_param is required for chat_mode 5 (for chat_app: the app_code; chat_data, chat_db_qa: the datasource name).',
            'chat_param',
          ],
        ],
        [
          { model: ' ', messages: [], chat_mode: 'chat_x', chat_param: 'p' },
          [
            400,
            'invalid_model',
            'model is required: the name of a configured model (see GET /api/v2/models).',
            'model',
          ],
        ],
        [
          { model: 'm', messages: '', chat_mode: 'chat_x', chat_param: 'p' },
          [400, 'invalid_messages', 'messages is required and must not be empty.', 'messages'],
        ],
        [
          { model: 'm', chat_mode: 'chat_x', chat_param: 'p', conv_uid: 'a b', messages: [5] },
          [400, 'invalid_chat_mode', `${mode} (got "chat_x").`, 'chat_mode'],
        ],
        [
          { ...OK, conv_uid: 'a'.repeat(65), messages: [5], stop: 5 },
          [
            400,
            'invalid_conv_uid',
            'conv_uid must be 1 to 64 characters of A-Z, a-z, 0-9, "-", "_", "." and ":" (a UUID fits).',
            'conv_uid',
          ],
        ],
        [
          { ...OK, messages: { role: 'user' }, stop: 5 },
          [400, 'invalid_messages', 'messages must be a string or a list of messages.', 'messages'],
        ],
        [
          { ...OK, messages: new Array(1001).fill('x') },
          [400, 'invalid_messages', 'messages may hold at most 1000 items.', 'messages'],
        ],
        [
          { ...OK, messages: ['ok', null, { role: 'x' }] },
          [400, 'invalid_messages', 'messages[1] must be a string or a {role, content} object.', 'messages[1]'],
        ],
        [
          { ...OK, messages: [{ role: 'tool', content: 'x' }, 5] },
          [400, 'invalid_messages', 'messages[0].role must be one of: system, user, assistant.', 'messages[0].role'],
        ],
        [
          // the first item at fault answers, whatever the later ones' fault
          { ...OK, messages: [{ role: 'user', content: 5 }, { role: 'tool' }] },
          [
            400,
            'validation_error',
            'messages[0].content must be a string or a list of text parts',
            'messages[0].content',
          ],
        ],
        [
          { ...OK, messages: ['a', { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url' }] }] },
          [
            400,
            'validation_error',
            'messages[1].content[1] must be a text part ({"type": "text", "text": "..."})',
            'messages[1].content[1]',
          ],
        ],
        [
          {
            ...OK,
            messages: [
              { role: 'user', content: ' ' },
              { role: 'assistant', content: 'a' },
            ],
            stop: 5,
          },
          [400, 'invalid_messages', 'messages must contain a non-empty user message.', 'messages'],
        ],
        [
          { ...OK, messages: [{ role: 'system', content: 'only' }] },
          [400, 'invalid_messages', 'messages must contain a non-empty user message.', 'messages'],
        ],
        [
          { ...OK, stop: ['a', 'b', 'c', 'd', 'e'], stream_options: 1 },
          [400, 'validation_error', 'stop must be a string or a list of at most 4 strings', 'stop'],
        ],
        [
          { ...OK, stream_options: [], max_tokens: 0 },
          [400, 'validation_error', 'stream_options must be an object', 'stream_options'],
        ],
        [
          { ...OK, stream_options: { include_usage: 'yes' }, max_tokens: 0 },
          [400, 'validation_error', 'stream_options.include_usage must be a boolean', 'stream_options.include_usage'],
        ],
        [
          { ...OK, max_tokens: 1.5, max_new_tokens: 'x' },
          [400, 'validation_error', 'max_tokens must be an integer', 'max_tokens'],
        ],
        [
          { ...OK, max_tokens: 1_000_001 },
          [400, 'validation_error', 'max_tokens must be between 1 and 1000000', 'max_tokens'],
        ],
        [
          { ...OK, max_new_tokens: 0, stream: 'yes' },
          [400, 'validation_error', 'max_new_tokens must be between 1 and 1000000', 'max_new_tokens'],
        ],
        [{ ...OK, stream: 'yes', user_name: 5 }, [400, 'validation_error', 'stream must be a boolean', 'stream']],
        [
          { ...OK, user_name: 'u'.repeat(256), sys_code: 5 },
          [400, 'validation_error', 'user_name must be at most 255 characters', 'user_name'],
        ],
        [
          { ...OK, sys_code: ['s'], incremental: 'no' },
          [400, 'validation_error', 'sys_code must be a string', 'sys_code'],
        ],
        [
          { ...OK, incremental: 'no', enable_vis: 0 },
          [400, 'validation_error', 'incremental must be a boolean', 'incremental'],
        ],
        [
          { ...OK, enable_vis: 0, background: 'yes' },
          [400, 'validation_error', 'enable_vis must be a boolean', 'enable_vis'],
        ],
        [
          { ...OK, background: 'yes', temperature: 'hot' },
          [400, 'validation_error', 'background must be a boolean', 'background'],
        ],
        [
          { ...OK, temperature: 'hot', top_p: 2 },
          [400, 'validation_error', 'temperature must be a number', 'temperature'],
        ],
        [{ ...OK, temperature: 2.5 }, [400, 'validation_error', 'temperature must be between 0 and 2', 'temperature']],
        [{ ...OK, top_p: 2 }, [400, 'validation_error', 'top_p must be between 0 and 1', 'top_p']],
      ];
      for (const [body, expected] of cases) expect([body, refusal(body)]).toEqual([body, expected]);
    });

    it('a body that is not an object is a 400 naming messages', () => {
      for (const body of [undefined, null, [], [{ model: 'm', messages: 'hi' }], 'hi', 5, true]) {
        expect(refusal(body)).toEqual([400, 'invalid_messages', 'The body must be a JSON object.', 'messages']);
      }
    });

    it('hostile values in any field are clean 400s', () => {
      const deep = JSON.parse('['.repeat(60) + ']'.repeat(60)) as unknown;
      const deepObject = JSON.parse('{"a":'.repeat(60) + '1' + '}'.repeat(60)) as unknown;
      for (const field of Object.keys(new ChatRequestDto()).concat(['model', 'messages'])) {
        for (const value of [deep, deepObject, [deep], { __proto__: { polluted: true } }, 'x'.repeat(100_000)]) {
          let thrown: unknown;
          try {
            pipe.transform({ ...OK, chat_mode: 'chat_app', chat_param: 'p', [field]: value });
          } catch (e) {
            thrown = e;
          }
          if (thrown !== undefined) {
            expect(thrown).toBeInstanceOf(ApiError);
            expect((thrown as ApiError).getStatus()).toBe(400);
          }
        }
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  it('every check of the DTO belongs to exactly one step', () => {
    const storage = getMetadataStorage();
    for (const target of [ChatRequestDto, StreamOptionsDto]) {
      const metadata = storage.getTargetValidationMetadatas(target, '', false, false);
      expect(metadata.length).toBeGreaterThan(0);
      for (const m of metadata) {
        expect([m.propertyName, m.groups.length]).toEqual([m.propertyName, 1]);
        expect(CHAT_REQUEST_STEPS).toContain(m.groups[0]);
      }
    }
  });

  it('the quick pass, on the body itself, says valid exactly when class-validator finds nothing wrong with its DTO', () => {
    const quick = quickChecks(ChatRequestDto);
    const valid: Record<string, unknown>[] = [
      OK,
      { ...OK, messages: [{ role: 'developer', content: [{ type: 'text', text: 'be brief' }] }, 'hi'] },
      { ...OK, chat_mode: 'chat_app', chat_param: 'app', conv_uid: 'a:b.c-d_e', user_name: 'u', sys_code: 's' },
      { ...OK, stream: true, incremental: false, enable_vis: false, background: true, temperature: 0, top_p: 1 },
      { ...OK, max_tokens: 10, max_new_tokens: 'ignored', stop: ['a', 'b'], stream_options: { include_usage: true } },
      { ...OK, stop: 'x', stream_options: null, chat_mode: null, conv_uid: null, unknown: { a: 1 } },
    ];
    const invalid: Record<string, unknown>[] = [
      { ...OK, model: ' ' },
      { ...OK, messages: [] },
      { ...OK, messages: [{ role: 'tool', content: 'x' }] },
      { ...OK, messages: [{ role: 'system', content: 'only a system message' }] },
      { ...OK, chat_mode: 'chat_dashboard' },
      { ...OK, chat_mode: 'chat_app' },
      { ...OK, conv_uid: '会话-1' },
      { ...OK, stream: 'yes' },
      { ...OK, user_name: 'x'.repeat(256) },
      { ...OK, max_tokens: 0 },
      { ...OK, max_new_tokens: 1.5 },
      { ...OK, temperature: Number.NaN },
      { ...OK, stop: [1] },
      { ...OK, stream_options: 5 },
      { ...OK, stream_options: [] },
      { ...OK, stream_options: { include_usage: 'yes' } },
    ];
    for (const body of [...valid, ...invalid]) {
      const dto = plainToInstance(ChatRequestDto, body);
      dto.messages = body.messages as ChatRequestDto['messages'];
      const foundNothing = validateSync(dto, { forbidUnknownValues: false }).length === 0;
      expect([body, quick(body)]).toEqual([body, foundNothing]);
      expect([body, quick(dto)]).toEqual([body, foundNothing]);
      expect([body, foundNothing]).toEqual([body, valid.includes(body)]);
    }
  });
});
