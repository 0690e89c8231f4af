import type { ActionResult, AgentRole } from './role';

/** Fenced Markdown code blocks; group 1 is the code. */
const CODE_BLOCKS = /```[^\n`]*\n([\s\S]*?)```/g;
/** A first-person claim of having run the code, which this role can never do. */
const EXECUTION_CLAIM = /\bI (?:just )?(?:executed|ran|tested)\b|\bI(?:'ve| have) (?:just )?(?:executed|run|tested)\b/i;

function hasCode(reply: string): boolean {
  return [...reply.matchAll(CODE_BLOCKS)].some((match) => match[1].trim() !== '');
}

function act(reply: string): ActionResult {
  if (!reply.trim()) return { ok: false, reason: 'the answer is empty' };
  if (!hasCode(reply)) return { ok: false, reason: 'the answer has no fenced code block (```language ... ```)' };
  if (EXECUTION_CLAIM.test(reply)) {
    return { ok: false, reason: 'the answer claims the code was run; the code cannot be executed here, only written' };
  }
  return { ok: true, value: reply };
}

/** Writes code in fenced blocks and never executes it (libs/agents/README.md, "Roles"). */
export const codeEngineer: AgentRole = {
  name: 'CodeEngineer',
  description: 'Writes code (any language) in fenced code blocks; cannot execute it.',
  systemPrompt: [
    'You are the CodeEngineer. Your goal is to write correct, complete code that solves the task.',
    '',
    'Constraints:',
    '- Put all code in fenced Markdown code blocks that name the language, e.g. ```python.',
    '- You cannot execute code. Never claim to have run or tested it and never invent its output;',
    '  if it helps, say what the code is expected to produce.',
    '- Write complete code without placeholders; keep the explanation around it short.',
  ].join('\n'),
  act,
};
