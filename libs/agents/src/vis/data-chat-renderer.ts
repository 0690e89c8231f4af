import type { DbChart } from '../ports';
import type { TeamEvent } from '../types';
import { AppendOnlyRenderer } from './renderer';

/**
 * The view of `chat_data`, as DB-GPT's chat-with-data scene answers: the
 * model's thoughts, a newline, then a `<chart-view content="…" />` element
 * whose attribute is the JSON `{type, sql, data}` (XML-escaped). A failed
 * run answers the reason marked as an error, as DB-GPT does. Nothing is
 * shown before the query has run (the chart is the answer).
 */
export class DataChatRenderer extends AppendOnlyRenderer {
  override snapshot(): string {
    return this.text;
  }

  protected override apply(event: TeamEvent): void {
    switch (event.type) {
      case 'chart':
        this.append(`${event.chart.describe}\n${chartView(event.chart)}`);
        return;
      case 'run-failed':
        this.append(`<span style="color:red">ERROR!</span> ${event.reason}`);
        return;
      case 'run-cancelled':
        this.append('Run cancelled.');
        return;
      default:
        return;
    }
  }

  private append(text: string): void {
    this.text += (this.text ? '\n\n' : '') + text;
  }
}

/** DB-GPT's chart element: `<chart-view content="{&quot;type&quot;: …}" />`. */
export function chartView(chart: DbChart): string {
  const content = JSON.stringify({ type: chart.type, sql: chart.sql, data: chart.data });
  return `<chart-view content="${xmlAttribute(content)}" />`;
}

function xmlAttribute(text: string): string {
  return text.replace(/[&<>"\n\r\t]/g, (c) => XML_ESCAPES[c]);
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  '\n': '&#10;',
  '\r': '&#13;',
  '\t': '&#09;',
};
