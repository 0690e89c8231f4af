import type { TeamEvent } from '../types';

/**
 * Renders a run's events into a document, append-only. The server treats
 * both renderings alike: `incremental: true` streams what `push` returns,
 * `incremental: false` streams `snapshot()` after each push.
 */
export interface RunRenderer {
  /** Applies one event; returns the text it appended to the document (often empty). */
  push(event: TeamEvent): string;
  /** Everything appended so far. */
  document(): string;
  /** The document so far made complete (open structures closed); equals `document()` once the run ended. */
  snapshot(): string;
}

/**
 * The append-only core both renderings share: `apply` only ever appends to
 * `text`, so `push` returns exactly what an event added.
 */
export abstract class AppendOnlyRenderer implements RunRenderer {
  protected text = '';

  push(event: TeamEvent): string {
    const from = this.text.length;
    this.apply(event);
    return this.text.slice(from);
  }

  document(): string {
    return this.text;
  }

  abstract snapshot(): string;

  protected abstract apply(event: TeamEvent): void;
}
