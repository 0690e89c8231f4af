import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** The most characters of a tool result shown and fed back to the model. */
export const MAX_RESULT_CHARS = 16_000;

/** A tool result's content as Markdown: text as is, other content named; long results cut with a note. */
export function resultMarkdown(result: CallToolResult): string {
  const parts = (result.content ?? []).map((item) => {
    switch (item.type) {
      case 'text':
        return item.text;
      case 'image':
      case 'audio':
        return `[${item.type}: ${item.mimeType}]`;
      case 'resource':
        return 'text' in item.resource ? item.resource.text : `[resource: ${item.resource.uri}]`;
      case 'resource_link':
        return `[${item.name}](${item.uri})`;
      default:
        return '';
    }
  });
  if (parts.length === 0 && result.structuredContent) parts.push(JSON.stringify(result.structuredContent));
  return truncate(parts.filter(Boolean).join('\n\n'));
}

export function truncate(text: string): string {
  if (text.length <= MAX_RESULT_CHARS) return text;
  return `${text.slice(0, MAX_RESULT_CHARS)}\n\n… (cut: ${text.length} characters in all)`;
}
