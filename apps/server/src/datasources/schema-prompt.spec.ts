import { tokenCounter, TokenCounter } from '@ensemble/llm';
import type { SchemaTable } from './drivers/driver';
import { indexSchema, schemaForQuestion } from './schema-prompt';

const table = (name: string, comment: string, columns: string[]): SchemaTable => ({
  name,
  comment,
  columns: columns.map((c) => ({ name: c, type: 'integer', nullable: true, comment: '', samples: [] })),
  primaryKey: [],
  foreignKeys: [],
});

describe('schema for prompts', () => {
  let count: TokenCounter;
  beforeAll(async () => {
    count = await tokenCounter();
  });

  it('counts tokens, not characters: Chinese comments take more tokens than their length in characters suggests', () => {
    expect(count('hello world')).toBe(2);
    const chinese = '客户订单的总金额按月份统计';
    expect(count(chinese)).toBeGreaterThan(chinese.length / 4);
  });

  it('keeps every table when the whole schema is within the budget', () => {
    const index = indexSchema([table('orders', '', ['id']), table('customers', '', ['id'])], count);
    const text = schemaForQuestion(index, 'anything', 1000);
    expect(text).toContain('Table orders');
    expect(text).toContain('Table customers');
    expect(text).not.toContain('not shown');
  });

  it('keeps the tables that match the question within the token budget, and says how many were left out', () => {
    const filler = Array.from({ length: 40 }, (_, i) => `column_${i}`);
    const tables = [
      ...Array.from({ length: 30 }, (_, i) => table(`misc_${i}`, '', filler)),
      table('invoices', '未付发票', ['id', 'customer_id', 'amount']),
    ];
    const index = indexSchema(tables, count);
    const budget = 400;
    const text = schemaForQuestion(index, 'Which invoices are unpaid?', budget);
    expect(text).toContain('Table invoices -- 未付发票');
    const shown = text.split('\n\n').filter((t) => t.startsWith('Table '));
    const left = Number(/\((\d+) more tables? not shown\)/.exec(text)?.[1]);
    expect(shown.length + left).toBe(tables.length);
    // Within the budget: every table's tokens plus one per separator.
    expect(shown.reduce((n, t) => n + count(t) + 1, 0)).toBeLessThanOrEqual(budget);
    expect(count(shown.join('\n\n'))).toBeLessThanOrEqual(budget);
  });
});
