import { parseKnowledgeResource, type KnowledgeReference } from '../ports/knowledge';
import type { AppResource } from '../types';
import type { RunContext } from './run-context';
import { RunFailure } from './run-errors';

/** What a step's `knowledge` resources add: a prompt section with the passages, and their references. */
export interface RetrievedKnowledge {
  /** The passages for the system prompt; empty when the step has no knowledge resource. */
  section: string;
  /** The passages' references (the message's `resource`); undefined when the step has no knowledge resource. */
  references?: KnowledgeReference[];
}

/**
 * Retrieves, for each `knowledge` resource of a step, the resource's `top_k`
 * passages for `question` through the run's knowledge port. A missing port
 * or a failed retrieval fails the step's run with the reason.
 */
export async function retrieveKnowledge(
  run: RunContext,
  who: string,
  resources: readonly AppResource[],
  question: string,
): Promise<RetrievedKnowledge> {
  const spaces = resources.filter((r) => r.type === 'knowledge').map((r) => parseKnowledgeResource(r.value));
  if (spaces.length === 0) return { section: '' };
  const port = run.resources.knowledge;
  if (!port) throw new RunFailure(`${who} has a knowledge resource, but this server offers no knowledge retrieval.`);
  const references: KnowledgeReference[] = [];
  for (const space of spaces) {
    if (!space) throw new RunFailure(`${who} has a knowledge resource that names no space.`);
    run.throwIfCancelled();
    try {
      references.push(...(await port.retrieve(space.spaceName, question, space.topK, run.signal)));
    } catch (e) {
      throw new RunFailure(
        `${who} could not retrieve from the knowledge space "${space.spaceName}": ${(e as Error).message}`,
      );
    }
  }
  return { section: knowledgeSection(references), references };
}

/** The passages as a prompt section, numbered for citation. */
export function knowledgeSection(references: readonly KnowledgeReference[]): string {
  if (references.length === 0) {
    return 'Knowledge retrieved for this request: no passage matched. Say so if the answer needs one.';
  }
  const passages = references.map((r, i) => `[${i + 1}] (${r.doc_name}) ${r.content}`);
  return ['Knowledge retrieved for this request (answer from these passages and cite them as [n]):', ...passages].join(
    '\n\n',
  );
}
