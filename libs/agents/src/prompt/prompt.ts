/**
 * Prompt building shared by every role: the system prompt (the role's, or a
 * detail's `prompt_template`), the resources described, the app language;
 * then the trimmed history as prior turns; then the message for this call.
 */
import type { ChatMessage } from '@ensemble/llm';
import type { AppResource, HistoryTurn } from '../types';

const LANGUAGES: Record<string, string> = { en: 'English', zh: 'Chinese' };

/** `Reply in English.` for `en`; unknown codes are named as given. */
export function languageInstruction(language: string): string {
  const code = language.trim() || 'en';
  return `Reply in ${LANGUAGES[code.toLowerCase()] ?? code}.`;
}

/** One line per resource: type, name and value. */
export function resourceLines(resources: readonly AppResource[]): string[] {
  return resources.map((r) => `- ${r.type} "${r.name}": ${r.value}`);
}

/** The resources section of a system prompt; empty when there are none. */
export function describeResources(resources: readonly AppResource[]): string {
  return resources.length === 0 ? '' : ['Resources you can use:', ...resourceLines(resources)].join('\n');
}

/** The base prompt, the extra sections, the resources and the language, separated by blank lines. */
export function systemPrompt(
  base: string,
  resources: readonly AppResource[],
  language: string,
  sections: readonly string[] = [],
): string {
  return [base.trim(), ...sections, describeResources(resources), languageInstruction(language)]
    .filter(Boolean)
    .join('\n\n');
}

/** The role's prompt unless the detail sets a non-blank `prompt_template`. */
export function basePrompt(rolePrompt: string, promptTemplate: string | null | undefined): string {
  return promptTemplate?.trim() ? promptTemplate : rolePrompt;
}

/** System prompt, history as user/assistant turns (empty texts left out), then the new user message. */
export function chatMessages(system: string, history: readonly HistoryTurn[], user: string): ChatMessage[] {
  const turns = history.flatMap((turn): ChatMessage[] => [
    { role: 'user', content: turn.user },
    { role: 'assistant', content: turn.assistant },
  ]);
  const prior = turns.filter((message) => message.content.trim());
  return [{ role: 'system', content: system }, ...prior, { role: 'user', content: user }];
}
