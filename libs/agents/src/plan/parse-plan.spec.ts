import type { ActionResult } from '../roles/role';
import type { PlannedStep } from '../types';
import { parsePlan } from './parse-plan';

const TEAM = ['AI Assistant', 'CodeEngineer', 'Summarizer'];
const TWO = [
  { num: 1, title: 'Find facts', agent: 'AI Assistant', rely: [] },
  { num: 2, title: 'Summarise', agent: 'Summarizer', rely: [1] },
];
const json = (items: unknown) => JSON.stringify(items);
const item = (n: unknown, agent: string, rely: unknown, content = `Task ${String(n)}`) => ({
  serial_number: n,
  agent,
  content,
  rely,
});
const reason = (result: ActionResult<PlannedStep[]>) => (result.ok ? 'valid' : result.reason);

describe('parsePlan: tolerant parsing', () => {
  const plan = json([item(1, 'AI Assistant', '', 'Find facts'), item(2, 'Summarizer', '1', 'Summarise')]);

  it.each([
    ['a bare array', plan],
    ['JSON inside prose', `Sure, here is the plan: ${plan}\nHope this [helps].`],
    ['a ```json fence', `Plan:\n\`\`\`json\n${plan}\n\`\`\`\nDone.`],
    ['a plain ``` fence', `\`\`\`\n${plan}\n\`\`\``],
    ['an object wrapping the array', json({ plan: JSON.parse(plan) })],
  ])('reads %s', (_, reply) => {
    expect(parsePlan(reply, TEAM)).toEqual({ ok: true, value: TWO });
  });

  it('reads numbers as strings and rely as a string, an array, a number or empty', () => {
    const reply = json([
      item('1', 'AI Assistant', null),
      item('2', 'CodeEngineer', [1]),
      item(' 3 ', 'AI Assistant', 1),
      item(4, 'Summarizer', ['2', 3]),
      item(5, 'Summarizer', '[3, 4]'),
      { serial_number: 6, agent: ' Summarizer ', content: ' Last ' },
    ]);
    const result = parsePlan(reply, TEAM);
    expect(result.ok && result.value.map((s) => s.rely)).toEqual([[], [1], [1], [2, 3], [3, 4], []]);
    expect(result.ok && result.value[5]).toEqual({ num: 6, title: 'Last', agent: 'Summarizer', rely: [] });
  });

  it('sorts steps given out of order and accepts a lone step object', () => {
    const result = parsePlan(json([item(2, 'Summarizer', '1'), item(1, 'AI Assistant', '')]), TEAM);
    expect(result.ok && result.value.map((s) => s.num)).toEqual([1, 2]);
    expect(parsePlan(json(item(1, 'Summarizer', '')), TEAM).ok).toBe(true);
  });
});

describe('parsePlan: strict validation', () => {
  it('reports invalid JSON and replies without JSON', () => {
    expect(reason(parsePlan('[{"serial_number": 1,', TEAM))).toMatch(/^the plan is not valid JSON \(.+\)$/);
    expect(reason(parsePlan('I would rather not.', TEAM))).toBe('the reply contains no JSON plan');
  });

  it('reports a value that is not a plan', () => {
    expect(reason(parsePlan('"just a string"', TEAM))).toBe(
      'the plan must be a JSON array of steps like [{"serial_number": 1, ...}]',
    );
    expect(reason(parsePlan('[]', TEAM))).toBe('the plan has no steps');
    expect(reason(parsePlan('[1, 2]', TEAM))).toBe('item 1 is not an object; item 2 is not an object');
  });

  it('reports bad fields by item', () => {
    const reply = json([{ serial_number: 'one', agent: '', content: 3, rely: 'after 1' }]);
    expect(reason(parsePlan(reply, TEAM))).toBe(
      [
        'item 1: "serial_number" must be a whole number from 1, got "one"',
        'item 1: "agent" must name one of the team\'s agents, got ""',
        'item 1: "content" must say what the step does, got 3',
        'item 1: "rely" must list serial numbers like "1,2" (or be empty), got "after 1"',
      ].join('; '),
    );
  });

  it('reports an agent that is not in the team', () => {
    expect(reason(parsePlan(json([item(1, 'DataScientist', '')]), TEAM))).toBe(
      'step 1: unknown agent "DataScientist"; the team\'s agents are "AI Assistant", "CodeEngineer", "Summarizer"',
    );
  });

  it('reports duplicate, missing and non-sequential serial numbers', () => {
    expect(reason(parsePlan(json([item(1, 'Summarizer', ''), item(1, 'Summarizer', '')]), TEAM))).toBe(
      'serial number 1 is used more than once; serial numbers must run 1 to 2 without gaps; missing 2',
    );
    expect(reason(parsePlan(json([item(1, 'Summarizer', ''), item(3, 'Summarizer', '')]), TEAM))).toBe(
      'serial numbers must run 1 to 2 without gaps; missing 2',
    );
    expect(reason(parsePlan(json([item(0, 'Summarizer', '')]), TEAM))).toBe(
      'item 1: "serial_number" must be a whole number from 1, got 0',
    );
  });

  it('reports rely on itself, on an unknown step, and on a later step', () => {
    expect(reason(parsePlan(json([item(1, 'Summarizer', '1')]), TEAM))).toBe('step 1 relies on itself');
    expect(reason(parsePlan(json([item(1, 'Summarizer', '7')]), TEAM))).toBe(
      'step 1 relies on step 7, which is not in the plan',
    );
    expect(reason(parsePlan(json([item(1, 'Summarizer', '2'), item(2, 'Summarizer', '')]), TEAM))).toBe(
      'step 1 relies on step 2, which comes later; a step may only rely on earlier steps',
    );
  });

  it('reports a cycle with its path', () => {
    const reply = json([item(1, 'Summarizer', ''), item(2, 'Summarizer', '3'), item(3, 'Summarizer', '2')]);
    expect(reason(parsePlan(reply, TEAM))).toBe('steps 2 → 3 → 2 rely on each other in a cycle');
  });
});
