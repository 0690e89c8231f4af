import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Exclude, Type } from 'class-transformer';
import { IsObject, IsOptional, ValidateNested, ValidationArguments } from 'class-validator';
import type { ErrorCode } from '../../common/api-error';
import { fieldCheck, isNonBlankString } from '@ensemble/llm';
import { CHAT_MODES } from '../chat-request';
import { UNSUPPORTED_CHAT_MODES } from '../dbgpt-compat';
import { lastUserText, MAX_MESSAGES, MESSAGE_ROLES, messagesProblem } from './chat-messages';

/**
 * The checks of a chat request, in the order they answer (SPEC §3): each is
 * a validation group, and the first group that fails is the error. The
 * contract's codes come first (a mode not served here, `chat_param`,
 * `model`, `messages`, the mode, `conv_uid`), then the messages themselves,
 * then the optional fields.
 */
export const CHAT_REQUEST_STEPS = [
  'served_mode',
  'chat_param',
  'model',
  'messages',
  'chat_mode',
  'conv_uid',
  'message_items',
  'user_message',
  'stop',
  'stream_options',
  'max_tokens',
  'max_new_tokens',
  'stream',
  'user_name',
  'sys_code',
  'incremental',
  'enable_vis',
  'background',
  'temperature',
  'top_p',
] as const;
export type ChatRequestStep = (typeof CHAT_REQUEST_STEPS)[number];

const present = (v: unknown) => v !== undefined && v !== null;
/** The mode a request asks for: `chat_normal` when absent. */
export const requestedMode = (dto: { chat_mode?: unknown }): unknown =>
  present(dto.chat_mode) ? dto.chat_mode : 'chat_normal';
const modeOf = (args: ValidationArguments) => requestedMode(args.object);

/** A check run in the step `step` (its constraint is named `name`), answering with `code` (400). */
const Check = (
  step: ChatRequestStep,
  code: ErrorCode,
  validate: (value: unknown, args: ValidationArguments) => boolean,
  message: (args: ValidationArguments) => string,
  name: string = step,
) =>
  // A context costs every validation a lookup per check: only the contract's own codes carry one.
  fieldCheck(name, validate, message, {
    groups: [step],
    ...(code === 'validation_error' ? {} : { context: { code } }),
  });

/**
 * An optional field checked in its own step (`validation_error`): `problem`
 * says what is wrong with a present value, if anything. `when` (default:
 * always) says whether the field is read at all.
 */
const OptionalCheck = (
  step: ChatRequestStep,
  problem: (value: unknown) => string | undefined,
  when: (dto: ChatRequestDto) => boolean = () => true,
) =>
  Check(
    step,
    'validation_error',
    (v, a) => !present(v) || !when(a.object as ChatRequestDto) || problem(v) === undefined,
    (a) => `${a.property} ${problem(a.value)}`,
  );

const IsOptionalBoolean = (step: ChatRequestStep) =>
  OptionalCheck(step, (v) => (typeof v === 'boolean' ? undefined : 'must be a boolean'));

const IsOptionalText = (step: ChatRequestStep, max: number) =>
  OptionalCheck(step, (v) =>
    typeof v !== 'string' ? 'must be a string' : v.length > max ? `must be at most ${max} characters` : undefined,
  );

const numberProblem = (min: number, max: number, integer: boolean) => (v: unknown) =>
  typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))
    ? `must be ${integer ? 'an integer' : 'a number'}`
    : v < min || v > max
      ? `must be between ${min} and ${max}`
      : undefined;

const IsOptionalNumber = (
  step: ChatRequestStep,
  min: number,
  max: number,
  integer = false,
  when?: (dto: ChatRequestDto) => boolean,
) => OptionalCheck(step, numberProblem(min, max, integer), when);

/** A client-chosen conversation id: what an HTTP header and a log line carry safely (DB-GPT sends UUIDs). */
const CONV_UID = /^[A-Za-z0-9._:-]{1,64}$/;

const TEXT_PART_SCHEMA = {
  type: 'object',
  required: ['type', 'text'],
  properties: { type: { type: 'string', enum: ['text'] }, text: { type: 'string' } },
};
const MESSAGE_SCHEMA = {
  type: 'object',
  required: ['role', 'content'],
  properties: {
    role: { type: 'string', enum: [...MESSAGE_ROLES], description: '`developer` is a system message.' },
    content: { oneOf: [{ type: 'string' }, { type: 'array', items: TEXT_PART_SCHEMA }] },
  },
};

export class StreamOptionsDto {
  @ApiPropertyOptional({
    type: Boolean,
    nullable: true,
    default: false,
    description: 'Stream: a usage chunk (`choices: []`) before `[DONE]`.',
  })
  @IsOptionalBoolean('stream_options')
  include_usage?: boolean | null;
}

/**
 * The body of `POST /api/v2/chat/completions`: OpenAI's chat fields and
 * DB-GPT's. Fields the server does not know are ignored (OpenAI clients send
 * many); `null` counts as absent.
 */
export class ChatRequestDto {
  @ApiProperty({ example: 'chatgpt_proxyllm', description: 'A configured model (GET /api/v2/models).' })
  @Check(
    'model',
    'invalid_model',
    isNonBlankString,
    () => 'model is required: the name of a configured model (see GET /api/v2/models).',
  )
  model: string;

  @ApiProperty({
    description:
      'A string (one user turn), or a list of strings (user turns) and `{role, content}` messages; ' +
      '`content` is a string or a list of text parts. The last user message must not be empty.',
    oneOf: [
      { type: 'string', minLength: 1 },
      { type: 'array', minItems: 1, maxItems: MAX_MESSAGES, items: { oneOf: [{ type: 'string' }, MESSAGE_SCHEMA] } },
    ],
  })
  @Check(
    'messages',
    'invalid_messages',
    (v) => present(v) && v !== '' && !(Array.isArray(v) && v.length === 0),
    () => 'messages is required and must not be empty.',
  )
  // One rule for the items (`messagesProblem`), two codes: the first item at fault answers with its own.
  @Check(
    'message_items',
    'invalid_messages',
    (v) => messagesProblem(v)?.code !== 'invalid_messages',
    (a) => messagesProblem(a.value)!.message,
    'message_shape',
  )
  @Check(
    'message_items',
    'validation_error',
    (v) => messagesProblem(v)?.code !== 'validation_error',
    (a) => messagesProblem(a.value)!.message,
    'message_content',
  )
  @Check(
    'user_message',
    'invalid_messages',
    (v) => messagesProblem(v) !== undefined || (lastUserText(v) ?? '').trim() !== '',
    () => 'messages must contain a non-empty user message.',
  )
  // Checked where it lies, never copied: class-transformer would clone every message of every request.
  @Exclude({ toClassOnly: true })
  messages: string | (string | { role: string; content: string | { type: 'text'; text: string }[] })[];

  @ApiPropertyOptional({
    type: Boolean,
    nullable: true,
    description: 'Default true when any DB-GPT field is present, false otherwise (OpenAI).',
  })
  @IsOptionalBoolean('stream')
  stream?: boolean | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    enum: CHAT_MODES,
    default: 'chat_normal',
    description: `DB-GPT's ${UNSUPPORTED_CHAT_MODES.join(' and ')} are not served here (400 unsupported_chat_mode).`,
  })
  @Check(
    'served_mode',
    'unsupported_chat_mode',
    (v) => !(typeof v === 'string' && UNSUPPORTED_CHAT_MODES.includes(v)),
    (a) => `chat_mode ${JSON.stringify(a.value)} is not served here.`,
  )
  @Check(
    'chat_mode',
    'invalid_chat_mode',
    (_v, a) => (CHAT_MODES as readonly unknown[]).includes(modeOf(a)),
    (a) => `chat_mode must be one of: ${CHAT_MODES.join(', ')} (got ${JSON.stringify(modeOf(a))}).`,
  )
  chat_mode?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    description:
      'Required unless chat_mode is chat_normal: for chat_app the app_code; chat_data, chat_db_qa the datasource ' +
      'name; chat_knowledge the knowledge space name.',
  })
  @Check(
    'chat_param',
    'invalid_chat_param',
    (v, a) => modeOf(a) === 'chat_normal' || isNonBlankString(v),
    (a) =>
      `chat_param is required for chat_mode ${JSON.stringify(modeOf(a))} (for chat_app: the app_code; chat_data, chat_db_qa: the datasource name).`,
  )
  chat_param?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    minLength: 1,
    maxLength: 64,
    pattern: CONV_UID.source,
    description:
      'Conversation id (1-64 characters of A-Z a-z 0-9 - _ . :, e.g. a UUID; else 400 invalid_conv_uid); generated when absent (returned in X-Conv-Uid).',
  })
  @Check(
    'conv_uid',
    'invalid_conv_uid',
    (v) => !present(v) || (typeof v === 'string' && CONV_UID.test(v)),
    () => 'conv_uid must be 1 to 64 characters of A-Z, a-z, 0-9, "-", "_", "." and ":" (a UUID fits).',
  )
  conv_uid?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 255 })
  @IsOptionalText('user_name', 255)
  user_name?: string | null;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 255 })
  @IsOptionalText('sys_code', 255)
  sys_code?: string | null;

  @ApiPropertyOptional({
    type: Boolean,
    nullable: true,
    default: true,
    description: 'true: each chunk carries new text; false: the whole view so far.',
  })
  @IsOptionalBoolean('incremental')
  incremental?: boolean | null;

  @ApiPropertyOptional({
    type: Boolean,
    nullable: true,
    default: true,
    description: 'chat_app: the vis markdown (true) or the plain answer (false).',
  })
  @IsOptionalBoolean('enable_vis')
  enable_vis?: boolean | null;

  @ApiPropertyOptional({ type: Number, nullable: true, minimum: 0, maximum: 2 })
  @IsOptionalNumber('temperature', 0, 2)
  temperature?: number | null;

  @ApiPropertyOptional({ nullable: true, type: 'integer', minimum: 1, maximum: 1_000_000 })
  @IsOptionalNumber('max_tokens', 1, 1_000_000, true)
  max_tokens?: number | null;

  @ApiPropertyOptional({
    nullable: true,
    type: 'integer',
    minimum: 1,
    maximum: 1_000_000,
    deprecated: true,
    description: "DB-GPT's name of max_tokens; ignored when max_tokens is given.",
  })
  // max_tokens wins: max_new_tokens is read only without it.
  @IsOptionalNumber('max_new_tokens', 1, 1_000_000, true, (dto) => !present(dto.max_tokens))
  max_new_tokens?: number | null;

  @ApiPropertyOptional({ type: Number, nullable: true, minimum: 0, maximum: 1 })
  @IsOptionalNumber('top_p', 0, 1)
  top_p?: number | null;

  @ApiPropertyOptional({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 4 }],
  })
  @OptionalCheck('stop', (v) =>
    typeof v === 'string' || (Array.isArray(v) && v.length <= 4 && v.every((s) => typeof s === 'string'))
      ? undefined
      : 'must be a string or a list of at most 4 strings',
  )
  stop?: string | string[] | null;

  @ApiPropertyOptional({ type: StreamOptionsDto, nullable: true })
  @IsOptional({ groups: ['stream_options'] })
  @IsObject({ groups: ['stream_options'], message: 'stream_options must be an object' })
  @ValidateNested({ groups: ['stream_options'] })
  @Type(() => StreamOptionsDto)
  stream_options?: StreamOptionsDto | null;

  @ApiPropertyOptional({
    type: Boolean,
    nullable: true,
    default: false,
    description:
      'Durable run: it goes on when the client leaves. A stream then carries `id:` lines and can be resumed ' +
      '(GET /api/v2/chat/completions/{conv_uid}/stream); without stream the answer is 202 with the run state at once.',
  })
  @IsOptionalBoolean('background')
  background?: boolean | null;
}
