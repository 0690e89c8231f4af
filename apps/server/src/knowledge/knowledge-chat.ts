import type { KnowledgeReference } from '@ensemble/agents';

/** What `chat_knowledge` adds to a plain chat: a system prompt with the passages and the references after the answer. */
export interface KnowledgeChatTurn {
  /** The instructions and the retrieved passages. */
  system: string;
  /** Appended to the answer: DB-GPT's `<references>` element. */
  suffix: string;
  references: KnowledgeReference[];
}

/** Passages given to a `chat_knowledge` answer. */
export const KNOWLEDGE_CHAT_TOP_K = 5;

const escapeAttribute = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * DB-GPT's reference view of a `chat_knowledge` answer: a `<references>`
 * element whose `references` attribute is the JSON list of documents, each
 * with its chunks (`id`, `content`, `meta_info`, `recall_score`), in
 * retrieval order.
 */
export function referencesElement(references: readonly KnowledgeReference[]): string {
  const byDocument = new Map<string, { name: string; chunks: Record<string, unknown>[] }>();
  references.forEach((r, i) => {
    const doc = byDocument.get(r.doc_name) ?? { name: r.doc_name, chunks: [] };
    doc.chunks.push({ index: i + 1, id: r.chunk_id, content: r.content, meta_info: r.metadata, recall_score: r.score });
    byDocument.set(r.doc_name, doc);
  });
  const json = JSON.stringify([...byDocument.values()]);
  return `<references title="References" references="${escapeAttribute(json)}"></references>`;
}

/** The system prompt and the reference suffix of a `chat_knowledge` turn over these passages. */
export function knowledgeChatTurn(spaceName: string, references: KnowledgeReference[]): KnowledgeChatTurn {
  const passages = references.length
    ? references.map((r, i) => `[${i + 1}] (${r.doc_name}) ${r.content}`).join('\n\n')
    : '(no passage of the knowledge space matched the question)';
  const system = [
    `You answer questions from the knowledge space "${spaceName}".`,
    'Answer from the passages below only, concisely, citing them as [n]. If they do not contain the answer,',
    'say that the knowledge space does not answer it instead of guessing.',
    '',
    'Passages:',
    passages,
  ].join('\n');
  return { system, suffix: references.length ? `\n\n${referencesElement(references)}` : '', references };
}
