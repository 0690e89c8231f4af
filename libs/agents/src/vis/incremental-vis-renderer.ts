import { HUMAN } from '../names';
import { planManager } from '../roles/plan-manager';
import type { PlannedStep, StepState, TeamEvent } from '../types';
import { holdTrailingHighSurrogate, nest } from './json-text';
import { AppendOnlyRenderer } from './renderer';

/** The DB-GPT vis tags Ensemble writes as blocks (a tool call's `vis-plugin` and a chart's `vis-db-chart` sit in a message's markdown). */
export type VisTag = 'agent-plans' | 'agent-messages';

/** The tag of a chart, written inside a message's markdown. */
export const DB_CHART_TAG = 'vis-db-chart';

/** What is open at the end of the document, outermost first. */
type Frame =
  /** A fenced block whose JSON array is open. */
  | { kind: 'block'; tag: VisTag; items: number }
  /** A plan item whose `markdown` string (an agent-messages block) is open. */
  | { kind: 'item'; num: number; messages: number }
  /** A message whose `markdown` string is open; `depth` is how many JSON strings enclose the message object. */
  | { kind: 'message'; depth: number; held: string; resource: string }
  /** A tool call's `vis-plugin` block, open in a message's markdown until the call ends; `depth` is the message's. */
  | { kind: 'plugin'; depth: number };

/**
 * The DB-GPT vis view of a run (DB-GPT's vis format (libs/agents/README.md)), written append-only so that
 * `incremental: true` streams true deltas and tokens appear as they arrive,
 * even inside the agent-messages JSON nested in a plan item.
 *
 * Layout:
 * - `single_agent`, `awel_layout`, `native_app`: one `agent-plans` block with
 *   one item for the request (`name` the input, `num` 1, `agent` "Human"),
 *   opened at `run-started`; its markdown holds every message of the run.
 * - `auto_plan`: the Planner's messages in a leading `agent-messages` block;
 *   then one `agent-plans` block with an item per step, appended when the
 *   step starts (append-only: items are never shown `todo`), its markdown
 *   holding the step's messages; then, when the Summarizer writes the
 *   answer outside the plan, a trailing `agent-messages` block.
 *
 * Keys are written in an order that never needs to change text already
 * sent: `status` comes last in a plan item, after its `markdown`, and
 * `resource` (null, or what the message draws on, e.g. knowledge references)
 * last in a message. A failed attempt stays as its
 * own message; a PlanManager note (`model` null) gives the reason, and the
 * retry appends another message. A failed or cancelled run adds a note with
 * the reason to the open item (or block) and closes it `failed`.
 */
export class IncrementalVisRenderer extends AppendOnlyRenderer {
  private readonly frames: Frame[] = [];
  private planned = false;
  private readonly steps = new Map<number, PlannedStep>();

  /** The document with every open string, array, item and fence closed; an open item shows `running`. */
  override snapshot(): string {
    let out = this.text;
    for (let i = this.frames.length - 1; i >= 0; i--) out += closing(this.frames[i], 'running');
    return out;
  }

  protected override apply(event: TeamEvent): void {
    switch (event.type) {
      case 'run-started':
        this.planned = event.mode === 'auto_plan';
        if (!this.planned) {
          this.openBlock('agent-plans');
          this.openItem(event.input, 1, HUMAN);
        }
        return;
      case 'plan-made':
        for (const step of event.steps) this.steps.set(step.num, step);
        if (this.planned) this.closeAll('complete');
        return;
      case 'step-started':
        if (this.planned) this.enterItem(event.num);
        return;
      case 'message-started':
        this.closeMessage();
        if (this.planned) {
          if (event.num === 0) this.enterBlock('agent-messages');
          else this.enterItem(event.num);
        }
        this.openMessage(event.sender, event.receiver, event.model, event.resource);
        return;
      case 'token':
        this.write(event.text);
        return;
      case 'message-done':
        this.closeMessage();
        return;
      case 'tool-call-started':
        this.closeMessage();
        if (this.planned) this.enterItem(event.num);
        this.openMessage(event.agent, event.receiver, null);
        this.openPlugin(event.tool, event.args);
        return;
      case 'tool-call-done':
        this.closePlugin(event.result, event.error, event.status);
        this.closeMessage();
        return;
      case 'chart':
        // The acting agent's result, as DB-GPT shows an action's view: a message whose markdown is the chart block.
        this.closeMessage();
        if (this.planned) this.enterItem(event.num);
        this.openMessage(event.sender, event.receiver, null);
        this.write(`\`\`\`${DB_CHART_TAG}\n${JSON.stringify(event.chart)}\n\`\`\``);
        this.closeMessage();
        return;
      case 'step-done':
        this.closeMessage();
        if (this.planned && this.top()?.kind === 'item') this.closeTop('complete');
        return;
      case 'step-failed': {
        const agent = this.steps.get(event.num)?.agent ?? HUMAN;
        this.note(agent, `Attempt ${event.retry + 1} failed${event.willRetry ? ', retrying' : ''}: ${event.reason}`);
        return;
      }
      case 'run-done':
        this.closeAll('complete');
        return;
      case 'run-failed':
        this.note(HUMAN, `Run failed: ${event.reason}`);
        this.closeAll('failed');
        return;
      case 'run-cancelled':
        this.note(HUMAN, 'Run cancelled.');
        this.closeAll('failed');
        return;
    }
  }

  private top(): Frame | undefined {
    return this.frames[this.frames.length - 1];
  }

  /** Makes a block with `tag` the innermost open frame, closing others or opening it. */
  private enterBlock(tag: VisTag): void {
    for (let top = this.top(); top && !(top.kind === 'block' && top.tag === tag); top = this.top()) {
      this.closeTop('complete');
    }
    if (this.frames.length === 0) this.openBlock(tag);
  }

  /** Makes plan item `num` the innermost open frame, appending it when it is not open. */
  private enterItem(num: number): void {
    const top = this.top();
    if (top?.kind === 'item' && top.num === num) return;
    this.enterBlock('agent-plans');
    const step = this.steps.get(num);
    this.openItem(step?.title ?? `Step ${num}`, num, step?.agent ?? HUMAN);
  }

  /** A PlanManager message (no model) in the open item or messages block, or in a new messages block. */
  private note(receiver: string, text: string): void {
    this.closeMessage();
    const top = this.top();
    const holdsMessages = top?.kind === 'item' || (top?.kind === 'block' && top.tag === 'agent-messages');
    if (!holdsMessages) this.enterBlock('agent-messages');
    this.openMessage(planManager.name, receiver, null);
    this.write(text);
    this.closeMessage();
  }

  private openBlock(tag: VisTag): void {
    this.text += `${this.text ? '\n' : ''}\`\`\`${tag}\n[`;
    this.frames.push({ kind: 'block', tag, items: 0 });
  }

  private openItem(name: string, num: number, agent: string): void {
    const block = this.top() as Extract<Frame, { kind: 'block' }>;
    const head = `{"name":${json(name)},"num":${num},"agent":${json(agent)},"markdown":"`;
    this.text += (block.items++ > 0 ? ',' : '') + head + nest('```agent-messages\n[', 1);
    this.frames.push({ kind: 'item', num, messages: 0 });
  }

  /** Opens a message in the innermost frame, an item (nested one level) or a messages block. */
  private openMessage(sender: string, receiver: string, model: string | null, resource?: unknown): void {
    const container = this.top() as Exclude<Frame, { kind: 'message' | 'plugin' }>;
    const depth = container.kind === 'item' ? 1 : 0;
    const earlier = container.kind === 'item' ? container.messages++ : container.items++;
    const head = `{"sender":${json(sender)},"receiver":${json(receiver)},"model":${json(model)},"markdown":"`;
    this.text += nest((earlier > 0 ? ',' : '') + head, depth);
    this.frames.push({ kind: 'message', depth, held: '', resource: JSON.stringify(resource ?? null) });
  }

  /** Appends text to the open message's markdown, escaped once per enclosing string. */
  private write(text: string): void {
    const top = this.top();
    if (top?.kind !== 'message') return;
    const [ready, held] = holdTrailingHighSurrogate(top.held + text);
    top.held = held;
    this.text += nest(ready, top.depth + 1);
  }

  /**
   * Opens a tool call's `vis-plugin` block in the open message: the fields
   * known at the start; `result`, `err_msg` and `status` follow when it ends.
   */
  private openPlugin(name: string, args: Record<string, unknown>): void {
    const message = this.top() as Extract<Frame, { kind: 'message' }>;
    this.text += nest(
      `\`\`\`vis-plugin\n{"name":${json(name)},"args":${JSON.stringify(args)},"logo":null,`,
      message.depth + 1,
    );
    this.frames.push({ kind: 'plugin', depth: message.depth });
  }

  private closePlugin(result: string, error: string | null, status: StepState): void {
    const top = this.top();
    if (top?.kind !== 'plugin') return;
    this.frames.pop();
    this.text += nest(`"result":${json(result)},"err_msg":${json(error)},"status":"${status}"}\n\`\`\``, top.depth + 1);
  }

  /** Closes the open message, and first a tool call left open in it (interrupted: `failed`). */
  private closeMessage(): void {
    if (this.top()?.kind === 'plugin') this.closeTop('failed');
    if (this.top()?.kind === 'message') this.closeTop('complete');
  }

  private closeTop(status: StepState): void {
    const frame = this.frames.pop() as Frame;
    if (frame.kind === 'message') this.text += nest(frame.held, frame.depth + 1);
    this.text += closing(frame, status);
  }

  private closeAll(status: StepState): void {
    while (this.frames.length > 0) this.closeTop(status);
  }
}

/** The text that closes `frame`; an item gets `status`. */
function closing(frame: Frame, status: StepState): string {
  switch (frame.kind) {
    case 'message':
      return nest(`","resource":${frame.resource}}`, frame.depth);
    case 'plugin':
      return nest(`"result":null,"err_msg":null,"status":"${status}"}\n\`\`\``, frame.depth + 1);
    case 'item':
      return `${nest(']\n```', 1)}","status":"${status}"}`;
    case 'block':
      return ']\n```';
  }
}

function json(value: string | null): string {
  return JSON.stringify(value);
}
