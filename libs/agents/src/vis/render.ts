import type { TeamEvent } from '../types';
import { IncrementalVisRenderer } from './incremental-vis-renderer';
import { PlainAnswerRenderer } from './plain-answer-renderer';
import type { RunRenderer } from './renderer';

/** The renderer for a chat request: the vis view when `enableVis`, the plain answer otherwise. */
export function createRenderer(enableVis: boolean): RunRenderer {
  return enableVis ? new IncrementalVisRenderer() : new PlainAnswerRenderer();
}

/** The vis document of a whole run (or of the events so far). */
export function renderVis(events: Iterable<TeamEvent>): string {
  return renderAll(new IncrementalVisRenderer(), events);
}

/** The plain-answer document of a whole run (or of the events so far). */
export function renderPlain(events: Iterable<TeamEvent>): string {
  return renderAll(new PlainAnswerRenderer(), events);
}

function renderAll(renderer: RunRenderer, events: Iterable<TeamEvent>): string {
  for (const event of events) renderer.push(event);
  return renderer.document();
}
