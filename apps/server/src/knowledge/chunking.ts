import type { DocumentFormat } from './parse-document';

/** DB-GPT's chunk strategies (`chunk_parameters.chunk_strategy`). */
export const CHUNK_STRATEGIES = [
  'Automatic',
  'CHUNK_BY_SIZE',
  'CHUNK_BY_PAGE',
  'CHUNK_BY_PARAGRAPH',
  'CHUNK_BY_SEPARATOR',
  'CHUNK_BY_MARKDOWN_HEADER',
] as const;
export type ChunkStrategy = (typeof CHUNK_STRATEGIES)[number];

/** DB-GPT's `ChunkParameters`, resolved (sizes in characters). */
export interface ChunkOptions {
  strategy: ChunkStrategy;
  chunkSize: number;
  chunkOverlap: number;
  separator: string;
  enableMerge: boolean;
}

export const DEFAULT_CHUNK_OPTIONS: ChunkOptions = {
  strategy: 'Automatic',
  chunkSize: 512,
  chunkOverlap: 50,
  separator: '\n',
  enableMerge: false,
};

export interface Chunk {
  /** 0, 1, … in document order. */
  position: number;
  content: string;
  metadata: Record<string, unknown>;
}

/** Separators tried in order when a text is too long: paragraphs, lines, sentences, words, characters. */
const SIZE_SEPARATORS = ['\n\n', '\n', '. ', '。', ' ', ''];

/**
 * Splits `text` at the first separator that occurs in it, recursing into
 * pieces still longer than `size`; the separator stays at the end of the
 * piece before it so that joining the pieces gives the text back.
 */
function splitPieces(text: string, size: number, separators: string[]): string[] {
  if (text.length <= size) return [text];
  const index = separators.findIndex((s) => s === '' || text.includes(s));
  const sep = separators[index];
  const rest = separators.slice(index + 1);
  if (sep === '') {
    const out: string[] = [];
    for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
    return out;
  }
  const parts = text.split(sep).map((p, i, all) => (i < all.length - 1 ? p + sep : p));
  return parts.filter((p) => p.length > 0).flatMap((p) => (p.length > size ? splitPieces(p, size, rest) : [p]));
}

/**
 * Greedily merges pieces into chunks of at most `size` characters; each new
 * chunk starts with the trailing pieces of the previous one that fit in
 * `overlap` characters.
 */
function mergePieces(pieces: string[], size: number, overlap: number): string[] {
  const chunks: string[] = [];
  let current: string[] = [];
  let length = 0;
  for (const piece of pieces) {
    if (length + piece.length > size && current.length) {
      chunks.push(current.join(''));
      const kept: string[] = [];
      let keptLength = 0;
      for (let i = current.length - 1; i >= 0; i--) {
        const p = current[i];
        if (keptLength + p.length > overlap || keptLength + p.length + piece.length > size) break;
        kept.unshift(p);
        keptLength += p.length;
      }
      current = kept;
      length = keptLength;
    }
    current.push(piece);
    length += piece.length;
  }
  if (current.length) chunks.push(current.join(''));
  return chunks;
}

/** Chunks of at most `size` characters with `overlap` characters carried over. */
export function splitBySize(text: string, size: number, overlap: number): string[] {
  return mergePieces(splitPieces(text, size, SIZE_SEPARATORS), size, Math.min(overlap, size - 1))
    .map((c) => c.trim())
    .filter((c) => c.length > 0);
}

interface Section {
  headers: Record<string, string>;
  text: string;
}

/** Sections of a Markdown text at its ATX headings (outside code fences), each with its heading path. */
export function markdownSections(text: string): Section[] {
  const sections: Section[] = [];
  const path: string[] = [];
  let lines: string[] = [];
  let fenced = false;
  const flush = () => {
    const body = lines.join('\n').trim();
    if (body) {
      const headers: Record<string, string> = {};
      path.forEach((h, i) => {
        if (h) headers[`Header${i + 1}`] = h;
      });
      sections.push({ headers, text: body });
    }
    lines = [];
  };
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      flush();
      const level = heading[1].length;
      path.length = level;
      path[level - 1] = heading[2];
      for (let i = 0; i < level - 1; i++) path[i] ??= '';
    }
    lines.push(line);
  }
  flush();
  return sections;
}

/** The strategy `Automatic` stands for: Markdown by its headings, everything else by size. */
function resolveStrategy(strategy: ChunkStrategy, format: DocumentFormat): ChunkStrategy {
  if (strategy !== 'Automatic') return strategy;
  return format === 'markdown' || format === 'html' ? 'CHUNK_BY_MARKDOWN_HEADER' : 'CHUNK_BY_SIZE';
}

/**
 * A document's chunks by DB-GPT's chunk parameters. By size: at most
 * `chunkSize` characters with `chunkOverlap` carried over. By paragraph:
 * one chunk per paragraph (blank-line separated), long ones split by size.
 * By separator: pieces between `separator`s, merged up to `chunkSize` when
 * `enableMerge`. By Markdown header: one chunk per section with its heading
 * path in the metadata, long sections split by size. By page: the formats
 * served have no pages, so by size.
 */
export function chunkDocument(
  text: string,
  format: DocumentFormat,
  options: ChunkOptions,
  metadata: Record<string, unknown> = {},
): Chunk[] {
  const { chunkSize: size, chunkOverlap: overlap } = options;
  const strategy = resolveStrategy(options.strategy, format);
  let parts: { content: string; metadata?: Record<string, unknown> }[];
  switch (strategy) {
    case 'CHUNK_BY_MARKDOWN_HEADER':
      parts = markdownSections(text).flatMap((s) =>
        splitBySize(s.text, size, overlap).map((content) => ({ content, metadata: s.headers })),
      );
      break;
    case 'CHUNK_BY_PARAGRAPH':
      parts = text
        .split(/\n\s*\n/)
        .flatMap((p) => splitBySize(p, size, overlap))
        .map((content) => ({ content }));
      break;
    case 'CHUNK_BY_SEPARATOR': {
      const pieces = text.split(options.separator).filter((p) => p.trim());
      const merged = options.enableMerge
        ? mergePieces(
            pieces.map((p, i) => (i < pieces.length - 1 ? p + options.separator : p)),
            size,
            0,
          )
        : pieces;
      parts = merged
        .map((c) => c.trim())
        .filter((c) => c)
        .map((content) => ({ content }));
      break;
    }
    case 'CHUNK_BY_SIZE':
    case 'CHUNK_BY_PAGE':
    case 'Automatic':
      parts = splitBySize(text, size, overlap).map((content) => ({ content }));
      break;
  }
  return parts.map((p, position) => ({
    position,
    content: p.content,
    metadata: { ...metadata, ...p.metadata },
  }));
}
