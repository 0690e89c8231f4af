import { parseVis, VisParseError } from './parse-vis';

const message = { sender: 'A', receiver: 'Human', model: null, markdown: 'hi', resource: null };
const messagesBlock = (items: unknown[]) => '```agent-messages\n' + JSON.stringify(items) + '\n```';

describe('parseVis', () => {
  it('parses blocks and the messages nested in plan items', () => {
    const item = { name: 'n', num: 1, agent: 'Human', markdown: messagesBlock([message]), status: 'complete' };
    const doc = ['```agent-plans\n' + JSON.stringify([item]) + '\n```', messagesBlock([message])].join('\n');
    expect(parseVis(doc)).toEqual([
      { tag: 'agent-plans', items: [{ ...item, messages: [message] }] },
      { tag: 'agent-messages', items: [message] },
    ]);
    expect(parseVis('')).toEqual([]);
  });

  it.each([
    ['text outside blocks', 'hello', /expected a fenced block at offset 0/],
    ['an unclosed block', '```agent-messages\n[]', /is not closed/],
    ['invalid JSON', '```agent-messages\n[{]\n```', /is not valid JSON/],
    ['a non-array', '```agent-messages\n{}\n```', /is not a JSON array/],
    ['an unknown tag', '```vis-chart\n[]\n```', /unknown vis tag "vis-chart"/],
    ['blocks without a newline between', messagesBlock([]) + messagesBlock([]), /expected a newline between blocks/],
    ['a message without resource', messagesBlock([{ ...message, resource: undefined }]), /message 1 needs/],
    [
      'a plan item with a bad status',
      '```agent-plans\n' +
        JSON.stringify([{ name: 'n', num: 1, agent: 'a', markdown: messagesBlock([]), status: 'done' }]) +
        '\n```',
      /unknown status "done"/,
    ],
    [
      'a plan item whose markdown is not a messages block',
      '```agent-plans\n' +
        JSON.stringify([{ name: 'n', num: 1, agent: 'a', markdown: 'text', status: 'todo' }]) +
        '\n```',
      /expected a fenced block/,
    ],
  ])('rejects %s', (_, doc, error) => {
    expect(() => parseVis(doc)).toThrow(VisParseError);
    expect(() => parseVis(doc)).toThrow(error);
  });
});
