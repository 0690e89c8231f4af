import { Injectable, PipeTransform } from '@nestjs/common';
import { flattenValidationErrors, isRecord, quickChecks } from '@ensemble/llm';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, ValidationError, validateSync, ValidatorOptions } from 'class-validator';
import { ApiError, ErrorCode } from '../common/api-error';
import { ChatMode, ChatRequest } from './chat-request';
import { CHAT_REQUEST_STEPS, ChatRequestDto, requestedMode } from './dto/chat-request.dto';
import { lastUserText, toChatMessages } from './dto/chat-messages';

/**
 * Without `stream`, DB-GPT streams and OpenAI does not: a request carrying
 * any DB-GPT field gets DB-GPT's default. An explicit value always wins.
 */
const DBGPT_FIELDS = [
  'chat_mode',
  'chat_param',
  'conv_uid',
  'incremental',
  'enable_vis',
  'user_name',
  'sys_code',
  'max_new_tokens',
];

/** Every check at once: what class-validator reports when the quick pass finds a fault. */
const ALL_CHECKS: ValidatorOptions = { forbidUnknownValues: false };
/**
 * The same checks without building errors or the DTO: a valid request (the
 * usual case) pays only for its checks. Run on the body itself: the DTO has
 * no `@Transform`, so class-transformer would copy each field as it is.
 */
const passesAllChecks = quickChecks(ChatRequestDto);

/** Each step: its validation options (the first failing check only) and the fields it checks. */
const STEPS = CHAT_REQUEST_STEPS.map((step) => ({
  options: { groups: [step], stopAtFirstError: true, forbidUnknownValues: false } satisfies ValidatorOptions,
  fields: new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(ChatRequestDto, '', false, false, [step])
      .map((m) => m.propertyName),
  ),
}));

/**
 * Validates the chat request body against `ChatRequestDto` and returns the
 * `ChatRequest` the service runs. A failure answers with the first failing
 * step of `CHAT_REQUEST_STEPS` (the contract's order), its code, sentence and
 * field. Unknown fields are ignored, as OpenAI clients send many.
 */
@Injectable()
export class ChatRequestPipe implements PipeTransform<unknown, ChatRequest> {
  transform(body: unknown): ChatRequest {
    if (!isRecord(body)) throw ApiError.badRequest('invalid_messages', 'The body must be a JSON object.', 'messages');
    // Passing, the body has the DTO's fields and types.
    if (passesAllChecks(body)) return toChatRequest(body as unknown as ChatRequestDto, body);
    const dto = plainToInstance(ChatRequestDto, body);
    dto.messages = body.messages as ChatRequestDto['messages'];
    const errors = validateSync(dto, ALL_CHECKS);
    if (errors.length > 0) throw firstFailure(dto, errors);
    return toChatRequest(dto, body);
  }
}

/**
 * The error of the first step that fails. `errors` are all the failures: a
 * step none of whose fields failed cannot fail, and is skipped.
 */
function firstFailure(dto: ChatRequestDto, errors: ValidationError[]): ApiError {
  const failed = new Set(errors.map((e) => e.property));
  for (const step of STEPS) {
    if (![...step.fields].some((f) => failed.has(f))) continue;
    const [first] = flattenValidationErrors<ErrorCode>(validateSync(dto, step.options));
    if (first) return ApiError.badRequest(first.code ?? 'validation_error', first.message, first.path);
  }
  const [first] = flattenValidationErrors<ErrorCode>(errors);
  return ApiError.badRequest(first?.code ?? 'validation_error', first?.message ?? 'Invalid request.', first?.path);
}

const orUndefined = <T>(v: T | null | undefined): T | undefined => v ?? undefined;

/** A valid request as the service reads it, DB-GPT's defaults applied. */
function toChatRequest(dto: ChatRequestDto, body: Record<string, unknown>): ChatRequest {
  const dbgptFamily = DBGPT_FIELDS.some((k) => k in body);
  return {
    model: dto.model,
    messages: toChatMessages(dto.messages),
    input: lastUserText(dto.messages)!,
    stream: dto.stream ?? dbgptFamily,
    chatMode: requestedMode(dto) as ChatMode,
    chatParam: typeof dto.chat_param === 'string' ? dto.chat_param : undefined,
    convUid: orUndefined(dto.conv_uid),
    userName: orUndefined(dto.user_name),
    sysCode: orUndefined(dto.sys_code),
    incremental: dto.incremental ?? true,
    enableVis: dto.enable_vis ?? true,
    includeUsage: dto.stream_options?.include_usage ?? false,
    background: dto.background ?? false,
    temperature: orUndefined(dto.temperature),
    maxTokens: dto.max_tokens ?? orUndefined(dto.max_new_tokens),
    topP: orUndefined(dto.top_p),
    stop: typeof dto.stop === 'string' ? [dto.stop] : orUndefined(dto.stop),
    dbgptFamily,
  };
}
