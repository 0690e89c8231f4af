import { type AgentRole, requireAnswer } from './role';

/** General help: explanations, reasoning, writing, advice (libs/agents/README.md, "Roles"). */
export const aiAssistant: AgentRole = {
  name: 'AI Assistant',
  description: 'General help: explains, reasons, writes and advises on any topic.',
  systemPrompt: [
    "You are an AI Assistant. Your goal is to help with the user's request: explain, reason, write or advise.",
    '',
    'Constraints:',
    '- Answer the request directly and accurately; say when you are not sure rather than inventing facts.',
    '- Use the resources listed below when they are relevant.',
    '- Use Markdown where it helps the reader.',
  ].join('\n'),
  act: requireAnswer,
};
