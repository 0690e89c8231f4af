/**
 * Property-style checks of both renderers over every scenario run, the same
 * runs with their tokens re-split at random (surrogate pairs cut), and
 * random runs of nasty text: every document is a prefix of the next, every
 * snapshot parses (nested blocks too), the last snapshot equals the
 * concatenated deltas and the whole-run rendering, and the final messages
 * are exactly the messages of the run.
 */
import { lastValueFrom, toArray } from 'rxjs';
import { runTeam } from '../team/run-team';
import { testAgent, testApp } from '../testing/run-helpers';
import { nastyText, randomSplit, seededRandom } from '../testing/random';
import { SCENARIOS, playScenario } from '../testing/scenarios';
import { ScriptedLlm } from '../testing/scripted-llm';
import type { TeamEvent, TeamMode } from '../types';
import { IncrementalVisRenderer } from './incremental-vis-renderer';
import { PlainAnswerRenderer } from './plain-answer-renderer';
import { parseVis, type VisBlock, type VisMessage } from './parse-vis';
import { renderPlain, renderVis } from './render';
import type { RunRenderer } from './renderer';

/** Messages in document order, plan items' nested messages included. */
function messagesOf(blocks: VisBlock[]): VisMessage[] {
  return blocks.flatMap((block) =>
    block.tag === 'agent-plans' ? block.items.flatMap((item) => item.messages) : block.items,
  );
}

/** Pushes every event, checking the append-only and snapshot properties after each; returns the deltas. */
function playThrough(renderer: RunRenderer, events: TeamEvent[], check: (snapshot: string) => void): string[] {
  const deltas: string[] = [];
  for (const event of events) {
    const before = renderer.document();
    const delta = renderer.push(event);
    deltas.push(delta);
    expect(renderer.document()).toBe(before + delta);
    const snapshot = renderer.snapshot();
    expect(snapshot.startsWith(renderer.document())).toBe(true);
    check(snapshot);
  }
  expect(renderer.snapshot()).toBe(renderer.document());
  expect(deltas.join('')).toBe(renderer.document());
  return deltas;
}

function checkVis(events: TeamEvent[]): string {
  const contents = events.flatMap((e) => (e.type === 'message-done' ? [e.content] : []));
  const doc = playThrough(new IncrementalVisRenderer(), events, (snapshot) => {
    const streamed = messagesOf(parseVis(snapshot)).filter((m) => m.model !== null);
    expect(streamed.length).toBeLessThanOrEqual(contents.length);
    streamed.forEach((message, i) => expect(contents[i].startsWith(message.markdown)).toBe(true));
  }).join('');
  expect(renderVis(events)).toBe(doc);
  const blocks = parseVis(doc);
  expect(
    messagesOf(blocks)
      .filter((m) => m.model !== null)
      .map((m) => m.markdown),
  ).toEqual(contents);
  const statuses = blocks.flatMap((b) => (b.tag === 'agent-plans' ? b.items.map((i) => i.status) : []));
  expect(statuses).not.toContain('running');
  return doc;
}

function checkPlain(events: TeamEvent[]): string {
  const doc = playThrough(new PlainAnswerRenderer(), events, () => undefined).join('');
  expect(renderPlain(events)).toBe(doc);
  return doc;
}

/** The same run with every token re-split at random UTF-16 positions. */
function resplit(events: TeamEvent[], seed: number): TeamEvent[] {
  const random = seededRandom(seed);
  return events.flatMap((e): TeamEvent[] =>
    e.type === 'token' ? randomSplit(random, e.text).map((text) => ({ ...e, text })) : [e],
  );
}

describe.each(SCENARIOS.map((s) => [s.name, s] as const))('renderers over "%s"', (_, scenario) => {
  let events: TeamEvent[];
  beforeAll(async () => {
    events = (await playScenario(scenario)).events;
  });

  it('vis: append-only, every snapshot parses, last snapshot = deltas = whole rendering', () => {
    checkVis(events);
  });

  it('vis: the same with tokens re-split at random', () => {
    const doc = checkVis(events);
    for (const seed of [1, 2, 3]) expect(checkVis(resplit(events, seed))).toBe(doc);
  });

  it('plain: append-only, the answer when the run succeeded at the first try', () => {
    const doc = checkPlain(events);
    expect(checkPlain(resplit(events, 4))).toBe(doc);
    const end = events[events.length - 1];
    const retried = events.some((e) => e.type === 'step-failed' || (e.type === 'message-done' && !e.success));
    if (end.type === 'run-done' && !retried) expect(doc).toBe(end.answer);
  });
});

describe('renderers over random runs of nasty text', () => {
  const modes: TeamMode[] = ['single_agent', 'awel_layout', 'auto_plan'];
  it.each(Array.from({ length: 30 }, (_, seed) => [seed, modes[seed % modes.length]] as const))(
    'seed %i (%s)',
    async (seed, mode) => {
      const random = seededRandom(1000 + seed);
      const reply = () => ({ tokens: randomSplit(random, `${nastyText(random, 20)} \`\`\`js\n1\n\`\`\``) });
      const plan = JSON.stringify([
        { serial_number: 1, agent: 'AI Assistant', content: nastyText(random, 5) || 'x', rely: '' },
        { serial_number: 2, agent: 'CodeEngineer', content: nastyText(random, 5) || 'y', rely: '1' },
      ]);
      const script =
        mode === 'auto_plan'
          ? [{ tokens: randomSplit(random, `${nastyText(random, 8)}\n${plan}`) }, reply(), reply(), reply()]
          : [reply(), reply()];
      const agents = [testAgent('AI Assistant'), testAgent('CodeEngineer')];
      const input = nastyText(random, 6);
      const events = await lastValueFrom(
        runTeam({
          app: testApp(mode, agents),
          input,
          history: [],
          llm: new ScriptedLlm(script),
          signal: new AbortController().signal,
        }).pipe(toArray()),
      );
      expect(events[events.length - 1].type).toBe('run-done');
      const doc = checkVis(events);
      expect(doc).not.toMatch(/\\u[dD][89abAB]/);
      checkPlain(events);
    },
  );
});
