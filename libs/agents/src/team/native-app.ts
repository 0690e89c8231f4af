import type { LlmStrategy } from '@ensemble/llm';
import { HUMAN } from '../names';
import { basePrompt, systemPrompt } from '../prompt/prompt';
import { aiAssistant } from '../roles/ai-assistant';
import { requireAnswer } from '../roles/role';
import type { AppDefinition, AppResource } from '../types';
import type { RunContext } from './run-context';
import { RunFailure } from './run-errors';
import { runStep } from './step';

/** Chat scenes a native app may use: plain chat, and chat over a knowledge space. */
export const NATIVE_CHAT_SCENES = ['chat_normal', 'chat_knowledge'] as const;

const DEFAULT_STRATEGY: LlmStrategy = { type: 'default' };

/**
 * `native_app`: a plain chat in the app's scene (`team_context.chat_scene`,
 * default `chat_normal`). The prompt is the first detail's `prompt_template`
 * (the AI Assistant's prompt otherwise) with that detail's resources; the
 * model strategy is that detail's (the default model otherwise). One step,
 * sent by the app (its name) to `Human`. `chat_knowledge` answers from the
 * detail's `knowledge` resource (or `team_context.space_name`): the passages
 * in the prompt, the references on the message. Another scene fails the run
 * rather than answering without what it needs.
 */
export async function runNativeApp(run: RunContext): Promise<string> {
  const scene = nativeChatScene(run.app.teamContext);
  if (!(NATIVE_CHAT_SCENES as readonly string[]).includes(scene)) {
    throw new RunFailure(
      `The chat scene "${scene}" is not supported for native apps; supported: ${NATIVE_CHAT_SCENES.join(', ')}.`,
    );
  }
  const detail = run.app.agents[0];
  const prompt = basePrompt(aiAssistant.systemPrompt, detail?.promptTemplate);
  const resources = sceneResources(run.app, scene);
  const sender = run.app.appName;
  run.emit({ type: 'plan-made', steps: [{ num: 1, title: run.input, agent: sender, rely: [] }] });
  return runStep(run, {
    num: 1,
    agent: sender,
    receiver: HUMAN,
    system: systemPrompt(prompt, resources, run.app.language),
    task: run.input,
    strategy: detail?.llmStrategy ?? DEFAULT_STRATEGY,
    act: requireAnswer,
    resources,
  });
}

/** The detail's resources; for `chat_knowledge`, with the space of `team_context.space_name` when it names one. */
function sceneResources(app: AppDefinition, scene: string): AppResource[] {
  const resources = app.agents[0]?.resources ?? [];
  if (scene !== 'chat_knowledge') return resources;
  const spaceName = contextObject(app)?.space_name;
  const all =
    typeof spaceName === 'string' && spaceName.trim()
      ? [...resources, { type: 'knowledge', name: spaceName, value: spaceName }]
      : resources;
  if (!all.some((r) => r.type === 'knowledge')) {
    throw new RunFailure('The chat scene "chat_knowledge" needs a knowledge space: give the app a knowledge resource.');
  }
  return all;
}

function contextObject(app: AppDefinition): Record<string, unknown> | undefined {
  let context: unknown = app.teamContext;
  if (typeof context === 'string') {
    try {
      context = JSON.parse(context);
    } catch {
      return undefined;
    }
  }
  return typeof context === 'object' && context !== null ? (context as Record<string, unknown>) : undefined;
}

/** `team_context.chat_scene` from an object or a JSON string; a bare `chat_*` string is the scene itself. */
export function nativeChatScene(teamContext: AppDefinition['teamContext'] | undefined): string {
  let context: unknown = teamContext;
  if (typeof context === 'string') {
    if (/^chat_\w+$/.test(context.trim())) return context.trim();
    try {
      context = JSON.parse(context);
    } catch {
      context = undefined;
    }
  }
  const scene = (context as { chat_scene?: unknown } | null | undefined)?.chat_scene;
  return typeof scene === 'string' && scene.trim() ? scene.trim() : 'chat_normal';
}
