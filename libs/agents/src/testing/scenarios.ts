/**
 * Named runs shared by the team tests (which assert their exact events) and
 * the vis property tests (which render every one of them).
 */
import { runTeam } from '../team/run-team';
import type { ResourcePorts } from '../ports';
import type { AppDefinition, HistoryTurn, TeamEvent, TeamRunOptions } from '../types';
import { MEMORY_TOOL_RESOURCE, MemoryTools } from './memory-tools';
import { testAgent, testApp } from './run-helpers';
import { type Script, ScriptedLlm } from './scripted-llm';

export interface Scenario {
  name: string;
  app: AppDefinition;
  input: string;
  script: Script;
  options?: TeamRunOptions;
  history?: HistoryTurn[];
  /** Abort the run's signal right after this event is observed. */
  abortWhen?: (event: TeamEvent) => boolean;
  tokenDelayMs?: number;
  /** Ports the run gets (made fresh for each play). */
  resources?: () => ResourcePorts;
}

/** Plans as the Planner might write them. */
export const PLANS = {
  /** Step 1 AI Assistant, step 2 Summarizer relying on 1: the last step answers. */
  twoSteps: JSON.stringify([
    { serial_number: 1, agent: 'AI Assistant', content: 'List the facts', rely: '' },
    { serial_number: 2, agent: 'Summarizer', content: 'Summarise the facts', rely: '1' },
  ]),
  /** 1; 2 and 3 rely on 1; 4 relies on 2 and 3. */
  diamond: JSON.stringify([
    { serial_number: '1', agent: 'AI Assistant', content: 'Collect the facts', rely: '' },
    { serial_number: '2', agent: 'CodeEngineer', content: 'Write the code', rely: '1' },
    { serial_number: 3, agent: 'AI Assistant', content: 'Explain the facts', rely: [1] },
    { serial_number: 4, agent: 'Summarizer', content: 'Combine code and explanation', rely: '2,3' },
  ]),
  /** One CodeEngineer step: the Summarizer must summarise afterwards. */
  codeOnly: JSON.stringify([{ serial_number: 1, agent: 'CodeEngineer', content: 'Write the script', rely: '' }]),
  unknownAgent: JSON.stringify([{ serial_number: 1, agent: 'DataScientist', content: 'Query', rely: '' }]),
  cycle: JSON.stringify([
    { serial_number: 1, agent: 'AI Assistant', content: 'A', rely: '' },
    { serial_number: 2, agent: 'AI Assistant', content: 'B', rely: '3' },
    { serial_number: 3, agent: 'Summarizer', content: 'C', rely: '2' },
  ]),
};

const CODE = '```python\nprint("hi")\n```';
const toolExpert = () => testAgent('ToolExpert', { resources: [MEMORY_TOOL_RESOURCE] });
const memoryTools = () => ({ tools: new MemoryTools() });
const call = (tool: string, args: unknown) => JSON.stringify({ thought: `use ${tool}`, tool_name: tool, args });
const answer = (text: string) => JSON.stringify({ thought: 'done', answer: text });
const planTeam = () => [testAgent('AI Assistant'), testAgent('CodeEngineer'), testAgent('Summarizer')];

export const SCENARIOS: Scenario[] = [
  {
    name: 'single_agent seed',
    app: testApp('single_agent', [testAgent('Summarizer')]),
    input: 'Introduce AWEL',
    script: ['AWEL is the Agentic Workflow Expression Language.'],
  },
  {
    name: 'single_agent empty answer retried',
    app: testApp('single_agent', [testAgent('AI Assistant')]),
    input: 'Hello',
    script: ['   ', 'Hi there!'],
  },
  {
    name: 'single_agent mid-stream error fails the step',
    app: testApp('single_agent', [testAgent('AI Assistant')]),
    input: 'Hello',
    script: [{ text: 'Hi the', error: { code: 'connection', message: 'socket closed', afterTokens: 1 } }],
  },
  {
    name: 'single_agent auth error fails at once',
    app: testApp('single_agent', [testAgent('AI Assistant')]),
    input: 'Hello',
    script: [{ error: { code: 'auth', message: 'the upstream answered 401: bad key' } }],
  },
  {
    name: 'auto_plan two steps, Summarizer last',
    app: testApp('auto_plan', planTeam()),
    input: 'Tell me about AWEL',
    script: [PLANS.twoSteps, 'Fact one. Fact two.', 'AWEL in short.'],
  },
  {
    name: 'auto_plan code step then summary',
    app: testApp('auto_plan', planTeam()),
    input: 'Write a greeting script',
    script: [PLANS.codeOnly, CODE, `Here it is:\n${CODE}`],
  },
  {
    name: 'auto_plan diamond',
    app: testApp('auto_plan', planTeam()),
    input: 'Explain and code',
    script: [PLANS.diamond, 'FACTS-1', `CODE-2 ${CODE}`, 'EXPLAIN-3', 'FINAL-4'],
  },
  {
    name: 'auto_plan planner prose around JSON',
    app: testApp('auto_plan', planTeam()),
    input: 'Tell me about AWEL',
    script: [`Sure! Here is my plan: ${PLANS.twoSteps} Let me know [if] that works.`, 'Facts.', 'Summary.'],
  },
  {
    name: 'auto_plan planner fenced JSON',
    app: testApp('auto_plan', planTeam()),
    input: 'Tell me about AWEL',
    script: ['Plan:\n```json\n' + PLANS.twoSteps + '\n```', 'Facts.', 'Summary.'],
  },
  {
    name: 'auto_plan planner invalid JSON then valid',
    app: testApp('auto_plan', planTeam()),
    input: 'Tell me about AWEL',
    script: ['[{"serial_number": 1, "agent": "AI Assistant",', PLANS.twoSteps, 'Facts.', 'Summary.'],
  },
  {
    name: 'auto_plan planner unknown agent then valid',
    app: testApp('auto_plan', planTeam()),
    input: 'Tell me about AWEL',
    script: [PLANS.unknownAgent, PLANS.twoSteps, 'Facts.', 'Summary.'],
  },
  {
    name: 'auto_plan planner cycle then valid',
    app: testApp('auto_plan', planTeam()),
    input: 'Tell me about AWEL',
    script: [PLANS.cycle, PLANS.twoSteps, 'Facts.', 'Summary.'],
  },
  {
    name: 'auto_plan planner retries exhausted',
    app: testApp('auto_plan', planTeam()),
    input: 'Tell me about AWEL',
    script: ['no plan', 'still no plan', PLANS.unknownAgent],
    options: { maxPlanRetries: 2 },
  },
  {
    name: 'auto_plan step retries exhausted',
    app: testApp('auto_plan', planTeam()),
    input: 'Write a greeting script',
    script: [PLANS.codeOnly, 'no code', 'I ran it:\n' + CODE],
    options: { maxStepRetries: 1 },
  },
  {
    name: 'auto_plan call budget exceeded',
    app: testApp('auto_plan', planTeam()),
    input: 'Tell me about AWEL',
    script: [PLANS.twoSteps, 'Facts.', 'Summary.'],
    options: { maxLlmCalls: 2 },
  },
  {
    name: 'awel_layout pipeline',
    app: testApp('awel_layout', [testAgent('AI Assistant'), testAgent('CodeEngineer'), testAgent('Summarizer')]),
    input: 'Greet the world',
    script: ['Idea: print a greeting.', CODE, 'A script that prints hi.'],
  },
  {
    name: 'native_app chat_normal',
    app: testApp('native_app', [], { teamContext: { chat_scene: 'chat_normal' }, appName: 'Chatty' }),
    input: 'Hello',
    script: ['Hello! How can I help?'],
  },
  {
    name: 'native_app unsupported scene',
    app: testApp('native_app', [], { teamContext: '{"chat_scene":"chat_excel"}' }),
    input: 'Hello',
    script: [],
  },
  {
    name: 'auto_plan cancelled mid-step',
    app: testApp('auto_plan', planTeam()),
    input: 'Tell me about AWEL',
    script: [PLANS.twoSteps, 'Fact one. Fact two. Fact three.', 'Summary.'],
    abortWhen: (event) => event.type === 'token' && event.num === 1,
    tokenDelayMs: 5,
  },
  {
    name: 'single_agent ToolExpert adds',
    app: testApp('single_agent', [toolExpert()]),
    input: 'What is 2 + 3?',
    script: [call('add', { a: 2, b: 3 }), answer('2 + 3 = 5')],
    resources: memoryTools,
  },
  {
    name: 'single_agent ToolExpert fixes its arguments, an unknown tool and a failing tool',
    app: testApp('single_agent', [toolExpert()]),
    input: 'Add "2" and 3 "quoted"',
    script: [
      'let me think',
      call('add', { a: '2', b: 3 }),
      call('multiply', { a: 2, b: 3 }),
      call('fail', {}),
      `\`\`\`json\n${call('add', { a: 2, b: 3 })}\n\`\`\``,
      answer('It is 5 — "quoted" 😀'),
    ],
    resources: memoryTools,
  },
  {
    name: 'auto_plan ToolExpert then Summarizer',
    app: testApp('auto_plan', [toolExpert(), testAgent('Summarizer')]),
    input: 'Echo hello, then summarise',
    script: [
      JSON.stringify([
        { serial_number: 1, agent: 'ToolExpert', content: 'Echo hello', rely: '' },
        { serial_number: 2, agent: 'Summarizer', content: 'Summarise the echo', rely: '1' },
      ]),
      call('echo', { text: 'hello "world"\n```' }),
      answer('The tool said hello'),
      'It echoed hello.',
    ],
    resources: memoryTools,
  },
  {
    name: 'single_agent ToolExpert cancelled mid-call',
    app: testApp('single_agent', [toolExpert()]),
    input: 'Sleep',
    script: [call('sleep', { ms: 60000 }), answer('never')],
    resources: memoryTools,
    abortWhen: (event) => event.type === 'tool-call-started',
  },
  {
    name: 'single_agent nasty text',
    app: testApp('single_agent', [testAgent('Summarizer')]),
    input: 'Quote "this" \\ and 😀 please',
    script: [
      {
        tokens: [
          'He said "hi"',
          ' \\ back',
          'slash\n',
          'tab\there \u0001 ctrl ',
          '\ud83d',
          '\ude00 é ',
          '中文',
          ' ```',
          'js\n}',
        ],
      },
    ],
  },
];

/** The scenario with this name (throws when there is none, to catch typos in tests). */
export function scenario(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found) throw new Error(`no scenario "${name}"`);
  return found;
}

/** Plays a scenario to its end: every event, and the scripted LLM with its recorded calls. */
export function playScenario(s: Scenario): Promise<{ events: TeamEvent[]; llm: ScriptedLlm }> {
  const llm = new ScriptedLlm(s.script, { tokenDelayMs: s.tokenDelayMs });
  const controller = new AbortController();
  const events: TeamEvent[] = [];
  return new Promise((resolve, reject) => {
    const { app, input, history = [], options } = s;
    const resources = s.resources?.();
    runTeam({ app, input, history, llm, signal: controller.signal, options, resources }).subscribe({
      next: (event) => {
        events.push(event);
        if (s.abortWhen?.(event)) controller.abort();
      },
      error: reject,
      complete: () => resolve({ events, llm }),
    });
  });
}
