import { ApiProperty } from '@nestjs/swagger';
import { unionMembers } from '../../common/api-docs';
import { PageTotalsResponse } from '../../common/page.response';
import type {
  ConversationListView,
  ConversationSummaryView,
  ConversationView,
  MessageView,
  PlanStepView,
  TurnView,
  UsageView,
} from '../conversation.types';
import type { RunState, StepState } from '../runs.repository';

const RUN_STATES = unionMembers<RunState>({ running: true, complete: true, failed: true, cancelled: true });
const STEP_STATES = unionMembers<StepState>({ todo: true, running: true, complete: true, failed: true });

export class UsageResponse implements UsageView {
  @ApiProperty({ type: 'integer', minimum: 0 })
  prompt_tokens: number;

  @ApiProperty({ type: 'integer', minimum: 0 })
  completion_tokens: number;

  @ApiProperty({ type: 'integer', minimum: 0 })
  total_tokens: number;
}

/** A conversation as listed (without its turns). */
export class ConversationSummaryResponse implements ConversationSummaryView {
  @ApiProperty()
  conv_uid: string;

  @ApiProperty({ type: String, nullable: true, description: 'The key that started the conversation.' })
  key_id: string | null;

  @ApiProperty({ example: 'chat_app' })
  chat_mode: string;

  @ApiProperty({ type: String, nullable: true })
  app_code: string | null;

  @ApiProperty({ type: String, nullable: true })
  user_name: string | null;

  @ApiProperty({ type: String, nullable: true })
  sys_code: string | null;

  @ApiProperty({ description: 'The first input (its first 200 characters).' })
  title: string;

  @ApiProperty({ enum: RUN_STATES, description: 'The state of the latest turn.' })
  state: RunState;

  @ApiProperty({ type: 'integer', minimum: 0 })
  turn_count: number;

  @ApiProperty({ format: 'date-time' })
  created_at: string;

  @ApiProperty({ format: 'date-time' })
  updated_at: string;
}

export class MessageResponse implements MessageView {
  @ApiProperty({ type: 'integer' })
  round: number;

  @ApiProperty({ type: 'integer', nullable: true, description: 'The plan step the message belongs to.' })
  step_num: number | null;

  @ApiProperty()
  sender: string;

  @ApiProperty()
  receiver: string;

  @ApiProperty({ type: String, nullable: true })
  model: string | null;

  @ApiProperty()
  content: string;

  @ApiProperty()
  success: boolean;

  @ApiProperty({ type: UsageResponse })
  usage: UsageView;

  @ApiProperty({
    // `nullable` inside a branch: beside `anyOf` it would make the generator add `type: object` to the whole.
    anyOf: [
      { type: 'array', items: { type: 'object', additionalProperties: true }, nullable: true },
      { type: 'object', additionalProperties: true },
    ],
    description: 'What the message drew on (e.g. knowledge references), as shown in its vis `resource` field.',
  })
  resource: unknown;

  @ApiProperty({ format: 'date-time' })
  created_at: string;
}

export class PlanStepResponse implements PlanStepView {
  @ApiProperty({ type: 'integer', minimum: 1 })
  num: number;

  @ApiProperty()
  title: string;

  @ApiProperty()
  agent: string;

  @ApiProperty({ type: 'integer', isArray: true, description: 'The steps this one relies on.' })
  rely: number[];

  @ApiProperty({ enum: STEP_STATES })
  state: StepState;

  @ApiProperty({ type: 'integer', minimum: 0 })
  retries: number;

  @ApiProperty({ type: String, nullable: true })
  result: string | null;

  @ApiProperty({ type: String, nullable: true })
  error: string | null;
}

export class TurnResponse implements TurnView {
  @ApiProperty({ format: 'uuid' })
  run_id: string;

  @ApiProperty({ type: 'integer', minimum: 1 })
  turn: number;

  @ApiProperty()
  chat_mode: string;

  @ApiProperty({ type: String, nullable: true })
  team_mode: string | null;

  @ApiProperty({ type: String, nullable: true })
  model: string | null;

  @ApiProperty()
  input: string;

  @ApiProperty({ type: String, nullable: true })
  answer: string | null;

  @ApiProperty({ enum: RUN_STATES })
  state: RunState;

  @ApiProperty({ type: String, nullable: true })
  error: string | null;

  @ApiProperty({ type: UsageResponse })
  usage: UsageView;

  @ApiProperty({ format: 'date-time' })
  started_at: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  finished_at: string | null;

  @ApiProperty({ type: [MessageResponse] })
  messages: MessageView[];

  @ApiProperty({ type: [PlanStepResponse] })
  plan_steps: PlanStepView[];
}

/** One conversation: every turn, its messages and plan steps. */
export class ConversationResponse extends ConversationSummaryResponse implements ConversationView {
  @ApiProperty({ type: [TurnResponse] })
  turns: TurnView[];
}

export class ConversationListResponse extends PageTotalsResponse implements ConversationListView {
  @ApiProperty({ type: [ConversationSummaryResponse] })
  conversations: ConversationSummaryView[];
}
