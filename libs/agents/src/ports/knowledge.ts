/**
 * The knowledge port: retrieval from a knowledge space for a question. A
 * `knowledge` resource's value is `{"space_name": "<space>", "top_k": 5}` or
 * the bare space name (DB-GPT's legacy form).
 */

/** One retrieved passage and where it comes from. */
export interface KnowledgeReference {
  /** Name of the document the chunk belongs to. */
  doc_name: string;
  doc_id: number;
  chunk_id: string;
  /** Fused ranking score (higher is better). */
  score: number;
  /** The passage. */
  content: string;
  metadata: Record<string, unknown>;
}

export interface KnowledgePort {
  /** The `topK` best passages of the named space for `query`; rejects when the space does not exist. */
  retrieve(spaceName: string, query: string, topK: number, signal?: AbortSignal): Promise<KnowledgeReference[]>;
}

export interface KnowledgeResourceValue {
  spaceName: string;
  topK: number;
}

export const DEFAULT_KNOWLEDGE_TOP_K = 5;

/** The space and top_k a `knowledge` resource's value names; undefined when it names no space. */
export function parseKnowledgeResource(value: unknown): KnowledgeResourceValue | undefined {
  let v: unknown = value;
  if (typeof v === 'string') {
    const text = v.trim();
    if (!text) return undefined;
    if (!text.startsWith('{')) return { spaceName: text, topK: DEFAULT_KNOWLEDGE_TOP_K };
    try {
      v = JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const name = o.space_name ?? o.space ?? o.name;
  if (typeof name !== 'string' || !name.trim()) return undefined;
  const k = Number(o.top_k);
  const topK = Number.isInteger(k) && k >= 1 && k <= 100 ? k : DEFAULT_KNOWLEDGE_TOP_K;
  return { spaceName: name.trim(), topK };
}
