import type { StepState } from '../types';

/** One message of an `agent-messages` block. */
export interface VisMessage {
  sender: string;
  receiver: string;
  model: string | null;
  markdown: string;
  resource: unknown;
}

/** One item of an `agent-plans` block, with its markdown's messages parsed. */
export interface VisPlanItem {
  name: string;
  num: number;
  agent: string;
  markdown: string;
  status: StepState;
  messages: VisMessage[];
}

export type VisBlock = { tag: 'agent-plans'; items: VisPlanItem[] } | { tag: 'agent-messages'; items: VisMessage[] };

/** A vis document that is not well formed; the message says where and why. */
export class VisParseError extends Error {
  override readonly name = 'VisParseError';
}

const STATES: readonly string[] = ['todo', 'running', 'complete', 'failed'] satisfies StepState[];

/**
 * Parses a vis document as Ensemble writes it: fenced `agent-plans` /
 * `agent-messages` blocks separated by newlines, nothing else. Each block's
 * JSON is parsed and checked, and each plan item's markdown is parsed as
 * exactly one nested `agent-messages` block. Throws `VisParseError`.
 */
export function parseVis(doc: string): VisBlock[] {
  const blocks: VisBlock[] = [];
  let pos = 0;
  while (pos < doc.length) {
    if (blocks.length > 0) {
      if (doc[pos] !== '\n') throw new VisParseError(`expected a newline between blocks at offset ${pos}`);
      pos++;
    }
    const header = /^```([\w-]+)\n/.exec(doc.slice(pos));
    if (!header) throw new VisParseError(`expected a fenced block at offset ${pos}`);
    const body = pos + header[0].length;
    const end = doc.indexOf('\n```', body);
    if (end < 0) throw new VisParseError(`the "${header[1]}" block at offset ${pos} is not closed`);
    blocks.push(parseBlock(header[1], doc.slice(body, end)));
    pos = end + 4;
  }
  return blocks;
}

function parseBlock(tag: string, body: string): VisBlock {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw new VisParseError(`the "${tag}" block is not valid JSON: ${(error as Error).message}`);
  }
  if (!Array.isArray(value)) throw new VisParseError(`the "${tag}" block is not a JSON array`);
  if (tag === 'agent-plans') return { tag, items: value.map(planItem) };
  if (tag === 'agent-messages') return { tag, items: value.map(message) };
  throw new VisParseError(`unknown vis tag "${tag}"`);
}

function planItem(value: unknown, index: number): VisPlanItem {
  const item = record(value, `plan item ${index + 1}`);
  const { name, num, agent, markdown, status } = item;
  if (
    typeof name !== 'string' ||
    typeof agent !== 'string' ||
    typeof markdown !== 'string' ||
    typeof num !== 'number'
  ) {
    throw new VisParseError(`plan item ${index + 1} needs string name, agent, markdown and a number num`);
  }
  if (typeof status !== 'string' || !STATES.includes(status)) {
    throw new VisParseError(`plan item ${index + 1} has an unknown status ${JSON.stringify(status)}`);
  }
  const nested = parseVis(markdown);
  if (nested.length !== 1 || nested[0].tag !== 'agent-messages') {
    throw new VisParseError(`plan item ${index + 1}'s markdown must be one agent-messages block`);
  }
  return { name, num, agent, markdown, status: status as StepState, messages: nested[0].items };
}

function message(value: unknown, index: number): VisMessage {
  const item = record(value, `message ${index + 1}`);
  const { sender, receiver, model, markdown } = item;
  const valid =
    typeof sender === 'string' &&
    typeof receiver === 'string' &&
    (model === null || typeof model === 'string') &&
    typeof markdown === 'string' &&
    'resource' in item;
  if (!valid) {
    throw new VisParseError(`message ${index + 1} needs string sender, receiver, markdown, a model and a resource`);
  }
  return { sender, receiver, model, markdown, resource: item.resource };
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VisParseError(`${what} is not an object`);
  }
  return value as Record<string, unknown>;
}
