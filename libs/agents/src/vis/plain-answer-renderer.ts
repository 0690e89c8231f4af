import { HUMAN } from '../names';
import type { TeamEvent } from '../types';
import { AppendOnlyRenderer } from './renderer';

/** Rows of a chart shown in the plain view. */
const PLAIN_CHART_ROWS = 20;

/**
 * The plain-text view of a run (`enable_vis: false`), append-only: the
 * tokens of every message addressed to `Human` (the message that answers
 * the user), streamed as they arrive. When such a message is rejected after
 * some of it was streamed, its text stays and a line saying so separates it
 * from the retry. A run that ends without such a message appends the answer
 * at `run-done`; a failed or cancelled run appends a line saying so. There
 * is nothing to close, so `snapshot()` is the document.
 */
export class PlainAnswerRenderer extends AppendOnlyRenderer {
  /** Inside a message addressed to Human. */
  private streaming = false;
  private streamedInMessage = false;
  /** A Human message was rejected after streaming text: the next one is a retry. */
  private rejected = false;
  private answered = false;

  override snapshot(): string {
    return this.text;
  }

  protected override apply(event: TeamEvent): void {
    switch (event.type) {
      case 'message-started':
        this.streaming = event.receiver === HUMAN;
        this.streamedInMessage = false;
        if (this.streaming && this.rejected) this.text += '\n\n(The answer above was rejected; retrying.)\n\n';
        if (this.streaming) this.rejected = false;
        return;
      case 'token':
        if (!this.streaming) return;
        this.text += event.text;
        this.streamedInMessage = true;
        return;
      case 'message-done':
        if (!this.streaming) return;
        this.streaming = false;
        if (event.success) this.answered = true;
        else this.rejected = this.streamedInMessage;
        return;
      case 'chart':
        // The data the user asked for, after the reply that fetched it.
        if (event.receiver === HUMAN) this.appendParagraph(markdownTable(event.chart.data, PLAIN_CHART_ROWS));
        return;
      case 'run-done':
        if (!this.answered) this.text += event.answer;
        return;
      case 'run-failed':
        this.appendParagraph(`Run failed: ${event.reason}`);
        return;
      case 'run-cancelled':
        this.appendParagraph('Run cancelled.');
        return;
      default:
        return;
    }
  }

  private appendParagraph(line: string): void {
    this.text += (this.text ? '\n\n' : '') + line;
  }
}

/** Rows as a Markdown table (the first `max`, with a line saying how many more). */
export function markdownTable(rows: readonly Record<string, unknown>[], max: number): string {
  if (rows.length === 0) return '(no rows)';
  const columns = Object.keys(rows[0]);
  const cell = (v: unknown) =>
    (v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v)).replace(/[|\n]/g, ' ');
  const lines = [
    `| ${columns.map(cell).join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.slice(0, max).map((r) => `| ${columns.map((c) => cell(r[c])).join(' | ')} |`),
  ];
  if (rows.length > max) lines.push(`(${rows.length - max} more rows)`);
  return lines.join('\n');
}
