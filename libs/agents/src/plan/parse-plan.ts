/**
 * The Planner's reply → a validated plan. Parsing is tolerant (JSON inside
 * prose or a fence, numbers as strings, `rely` as "1,2", an array or empty);
 * validation is strict and reports every problem precisely, so the Planner
 * can be re-asked with exactly what to fix.
 */
import type { ActionResult } from '../roles/role';
import type { PlannedStep } from '../types';
import { extractJson } from './extract-json';
import { isRecord } from '@ensemble/llm';

/**
 * Parses and validates a plan over the team's agents. A valid plan numbers
 * its steps 1..n, names only team agents, and lets each step rely only on
 * earlier steps, so numeric order is a dependency order. Steps come back
 * sorted by number.
 */
export function parsePlan(reply: string, agents: readonly string[]): ActionResult<PlannedStep[]> {
  const json = extractJson(reply);
  if (!json.ok) return json;
  const items = planItems(json.value);
  if (!items) return fail(['the plan must be a JSON array of steps like [{"serial_number": 1, ...}]']);
  if (items.length === 0) return fail(['the plan has no steps']);

  const errors: string[] = [];
  const steps = items.flatMap((item, index) => normalize(item, index + 1, errors));
  if (errors.length > 0) return fail(errors);

  checkAgents(steps, agents, errors);
  if (checkNumbers(steps, errors)) checkRely(steps, errors);
  if (errors.length > 0) return fail(errors);
  return { ok: true, value: [...steps].sort((a, b) => a.num - b.num) };
}

function fail(errors: string[]): ActionResult<PlannedStep[]> {
  return { ok: false, reason: errors.join('; ') };
}

/** An array; a lone step object; or an object wrapping the array (e.g. `{"plan": [...]}`). */
function planItems(value: unknown): unknown[] | undefined {
  if (Array.isArray(value)) return value as unknown[];
  if (!isRecord(value)) return undefined;
  if ('serial_number' in value) return [value];
  return Object.values(value).find(Array.isArray);
}

/** One raw item → a step, or errors naming the item by its position. */
function normalize(item: unknown, position: number, errors: string[]): PlannedStep[] {
  const where = `item ${position}`;
  if (!isRecord(item)) {
    errors.push(`${where} is not an object`);
    return [];
  }
  const before = errors.length;
  const num = wholeNumber(item.serial_number);
  if (num === undefined || num < 1) {
    errors.push(`${where}: "serial_number" must be a whole number from 1, got ${show(item.serial_number)}`);
  }
  const agent = typeof item.agent === 'string' ? item.agent.trim() : '';
  if (!agent) errors.push(`${where}: "agent" must name one of the team's agents, got ${show(item.agent)}`);
  const content = typeof item.content === 'string' ? item.content.trim() : '';
  if (!content) errors.push(`${where}: "content" must say what the step does, got ${show(item.content)}`);
  const rely = relyList(item.rely);
  if (!rely) errors.push(`${where}: "rely" must list serial numbers like "1,2" (or be empty), got ${show(item.rely)}`);
  if (errors.length > before || num === undefined || !rely) return [];
  return [{ num, title: content, agent, rely }];
}

function wholeNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) ? value : undefined;
  if (typeof value === 'string' && /^\s*\d+\s*$/.test(value)) return Number(value);
  return undefined;
}

/** `"1,2"`, `"[1, 2]"`, `[1, "2"]`, `3`, `""`, `null` or absent → sorted unique numbers. */
function relyList(value: unknown): number[] | undefined {
  if (value === undefined || value === null) return [];
  let parts: unknown[];
  if (Array.isArray(value)) parts = value;
  else if (typeof value === 'number') parts = [value];
  else if (typeof value === 'string')
    parts = value
      .replace(/[[\]]/g, '')
      .split(/[\s,;]+/)
      .filter(Boolean);
  else return undefined;
  const numbers = parts.map(wholeNumber);
  if (numbers.some((n) => n === undefined)) return undefined;
  return [...new Set(numbers as number[])].sort((a, b) => a - b);
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

function checkAgents(steps: PlannedStep[], agents: readonly string[], errors: string[]): void {
  const known = agents.map((a) => `"${a}"`).join(', ');
  for (const step of steps) {
    if (!agents.includes(step.agent)) {
      errors.push(`step ${step.num}: unknown agent "${step.agent}"; the team's agents are ${known}`);
    }
  }
}

/** Serial numbers must be exactly 1..n. Returns whether they are. */
function checkNumbers(steps: PlannedStep[], errors: string[]): boolean {
  const before = errors.length;
  const seen = new Set<number>();
  for (const { num } of steps) {
    if (seen.has(num)) errors.push(`serial number ${num} is used more than once`);
    seen.add(num);
  }
  const missing = steps.map((_, i) => i + 1).filter((n) => !seen.has(n));
  if (missing.length > 0) {
    errors.push(`serial numbers must run 1 to ${steps.length} without gaps; missing ${missing.join(', ')}`);
  }
  return errors.length === before;
}

function checkRely(steps: PlannedStep[], errors: string[]): void {
  const before = errors.length;
  for (const step of steps) {
    for (const r of step.rely) {
      if (r === step.num) errors.push(`step ${step.num} relies on itself`);
      else if (r < 1 || r > steps.length) errors.push(`step ${step.num} relies on step ${r}, which is not in the plan`);
    }
  }
  if (errors.length > before) return;
  const cycle = findCycle(steps);
  if (cycle) {
    errors.push(`steps ${cycle.join(' → ')} rely on each other in a cycle`);
    return;
  }
  for (const step of steps) {
    for (const r of step.rely.filter((r) => r > step.num)) {
      errors.push(`step ${step.num} relies on step ${r}, which comes later; a step may only rely on earlier steps`);
    }
  }
}

/** A dependency cycle as a closed path (e.g. [2, 3, 2]), or undefined. */
function findCycle(steps: PlannedStep[]): number[] | undefined {
  const rely = new Map(steps.map((s) => [s.num, s.rely]));
  const state = new Map<number, 'visiting' | 'done'>();
  const path: number[] = [];
  const visit = (num: number): number[] | undefined => {
    if (state.get(num) === 'done') return undefined;
    if (state.get(num) === 'visiting') return [...path.slice(path.indexOf(num)), num];
    state.set(num, 'visiting');
    path.push(num);
    for (const next of rely.get(num) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(num, 'done');
    return undefined;
  };
  for (const step of steps) {
    const cycle = visit(step.num);
    if (cycle) return cycle;
  }
  return undefined;
}
