import type { KnowledgePort, KnowledgeReference } from '../ports';
import { parseKnowledgeResource } from '../ports';
import { collectRun, testAgent, testApp } from '../testing/run-helpers';
import { ScriptedLlm } from '../testing/scripted-llm';
import { parseVis } from '../vis/parse-vis';
import { renderVis } from '../vis/render';
import type { TeamEvent } from '../types';

const reference = (n: number): KnowledgeReference => ({
  doc_name: 'awel.md',
  doc_id: 7,
  chunk_id: String(100 + n),
  score: 0.03 - n / 1000,
  content: `AWEL passage ${n}: operators form a DAG.`,
  metadata: { source: 'awel.md' },
});

/** A port that records its calls and answers `count` passages. */
function fakePort(count = 2): KnowledgePort & { calls: [string, string, number][] } {
  const calls: [string, string, number][] = [];
  return {
    calls,
    retrieve(space, query, topK) {
      calls.push([space, query, topK]);
      if (space === 'missing') return Promise.reject(new Error('knowledge space "missing" does not exist'));
      return Promise.resolve(Array.from({ length: Math.min(count, topK) }, (_, i) => reference(i + 1)));
    },
  };
}

const knowledgeAgent = (value: string) =>
  testAgent('Summarizer', { resources: [{ type: 'knowledge', name: 'docs', value }] });

describe('knowledge resources in a run', () => {
  it('retrieves for the question, puts the passages in the prompt and the references on the message', async () => {
    const llm = new ScriptedLlm(['AWEL builds DAGs [1].']);
    const port = fakePort();
    const events = await collectRun({
      app: testApp('single_agent', [knowledgeAgent('{"space_name": "awel-docs", "top_k": 2}')]),
      input: 'What is AWEL?',
      llm,
      resources: { knowledge: port },
    });
    expect(port.calls).toEqual([['awel-docs', 'What is AWEL?', 2]]);
    const system = llm.calls[0].messages[0].content;
    expect(system).toContain('[1] (awel.md) AWEL passage 1: operators form a DAG.');
    expect(system).toContain('[2] (awel.md) AWEL passage 2: operators form a DAG.');
    const started = events.find((e) => e.type === 'message-started') as Extract<TeamEvent, { type: 'message-started' }>;
    const done = events.find((e) => e.type === 'message-done') as Extract<TeamEvent, { type: 'message-done' }>;
    expect(started.resource).toEqual([reference(1), reference(2)]);
    expect(done.resource).toEqual([reference(1), reference(2)]);

    const [plans] = parseVis(renderVis(events));
    const [item] = plans.items as { markdown: string }[];
    const [messages] = parseVis(item.markdown);
    expect(messages.items).toEqual([
      {
        sender: 'Summarizer',
        receiver: 'Human',
        model: expect.any(String),
        markdown: 'AWEL builds DAGs [1].',
        resource: [reference(1), reference(2)],
      },
    ]);
  });

  it('accepts the legacy plain space name with the default top_k', async () => {
    const port = fakePort(9);
    await collectRun({
      app: testApp('single_agent', [knowledgeAgent('awel-docs')]),
      input: 'q',
      llm: new ScriptedLlm(['a']),
      resources: { knowledge: port },
    });
    expect(port.calls).toEqual([['awel-docs', 'q', 5]]);
  });

  it('fails the step with the reason when the port is missing or the retrieval fails', async () => {
    const noPort = await collectRun({
      app: testApp('single_agent', [knowledgeAgent('awel-docs')]),
      input: 'q',
      llm: new ScriptedLlm(['a']),
    });
    expect(noPort[noPort.length - 1]).toMatchObject({
      type: 'run-failed',
      reason: 'Step 1 (Summarizer) has a knowledge resource, but this server offers no knowledge retrieval.',
    });
    const missing = await collectRun({
      app: testApp('single_agent', [knowledgeAgent('missing')]),
      input: 'q',
      llm: new ScriptedLlm(['a']),
      resources: { knowledge: fakePort() },
    });
    expect(missing[missing.length - 1]).toMatchObject({
      type: 'run-failed',
      reason:
        'Step 1 (Summarizer) could not retrieve from the knowledge space "missing": knowledge space "missing" does not exist',
    });
  });

  it('parses resource values', () => {
    expect(parseKnowledgeResource('{"space_name": "s", "top_k": 3}')).toEqual({ spaceName: 's', topK: 3 });
    expect(parseKnowledgeResource({ space_name: 's' })).toEqual({ spaceName: 's', topK: 5 });
    expect(parseKnowledgeResource(' s ')).toEqual({ spaceName: 's', topK: 5 });
    expect(parseKnowledgeResource('{"top_k": 3}')).toBeUndefined();
    expect(parseKnowledgeResource('{broken')).toBeUndefined();
    expect(parseKnowledgeResource('')).toBeUndefined();
  });
});
