import type { AppView } from './app.types';

/**
 * What an admin should hear about a saved app's model choices: each detail
 * whose `priority` list names models this server does not serve (they are
 * skipped when the app runs, so a list of only unknown names falls back to
 * nothing). Kept as warnings, not errors: an app exported from DB-GPT names
 * DB-GPT's models and must still import as is.
 */
export function unknownModelWarnings(app: AppView, isConfigured: (name: string) => boolean): string[] {
  return app.details.flatMap((detail, i) => {
    if (detail.llm_strategy !== 'priority' || !detail.llm_strategy_value) return [];
    const unknown = detail.llm_strategy_value
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '' && !isConfigured(name));
    if (unknown.length === 0) return [];
    return [
      `details[${i}].llm_strategy_value names models that are not configured here: ${unknown.join(', ')} ` +
        '(they are skipped when the app runs; see GET /api/v2/models)',
    ];
  });
}

/** An RFC 9111 `Warning` header value (code 299, persistent): printable ASCII only, quotes escaped. */
export function warningHeader(text: string): string {
  const safe = text.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, '\\$&');
  return `299 ensemble "${safe}"`;
}
