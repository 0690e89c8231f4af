import type { LlmStrategy } from '@ensemble/llm';
import { HUMAN } from '../names';
import { basePrompt, systemPrompt } from '../prompt/prompt';
import { aiAssistant } from '../roles/ai-assistant';
import { requireAnswer } from '../roles/role';
import type { AppDefinition } from '../types';
import type { RunContext } from './run-context';
import { RunFailure } from './run-errors';
import { runStep } from './step';

/** Chat scenes a native app may use: plain chat only, for now. */
export const NATIVE_CHAT_SCENES = ['chat_normal'] as const;

const DEFAULT_STRATEGY: LlmStrategy = { type: 'default' };

/**
 * `native_app`: a plain chat in the app's scene (`team_context.chat_scene`,
 * default `chat_normal`). The prompt is the first detail's `prompt_template`
 * (the AI Assistant's prompt otherwise) with that detail's resources; the
 * model strategy is that detail's (the default model otherwise). One step,
 * sent by the app (its name) to `Human`. A scene that needs more than a chat
 * (knowledge, databases, …) fails the run rather than answering without it.
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
  const sender = run.app.appName;
  run.emit({ type: 'plan-made', steps: [{ num: 1, title: run.input, agent: sender, rely: [] }] });
  return runStep(run, {
    num: 1,
    agent: sender,
    receiver: HUMAN,
    system: systemPrompt(prompt, detail?.resources ?? [], run.app.language),
    task: run.input,
    strategy: detail?.llmStrategy ?? DEFAULT_STRATEGY,
    act: requireAnswer,
  });
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
