import { Injectable } from '@nestjs/common';
import { AppDefinition, createRenderer, DataChatRenderer, type ResourcePorts, RunRenderer } from '@ensemble/agents';
import { ApiError } from '../common/api-error';
import { DatasourcesService } from '../datasources/datasources.service';
import type { ChatRequest } from './chat-request';

/** The chat modes that work on a datasource (`chat_param` names it). */
export const DATA_CHAT_MODES = ['chat_data', 'chat_db_qa'] as const;

export function isDataChatMode(mode: string): boolean {
  return (DATA_CHAT_MODES as readonly string[]).includes(mode);
}

/** A data chat as a team run: the app to run and how its events are shown. */
export interface DataChatRun {
  app: AppDefinition;
  renderer: RunRenderer;
}

/**
 * `chat_data` and `chat_db_qa` as one-step team runs (stored, cancelled and
 * streamed like any run):
 * - `chat_data`: the DataScientist over the datasource; the model writes SQL,
 *   Ensemble runs it read-only (errors fed back, bounded), and the answer is
 *   DB-GPT's chat-data view (thoughts and a `<chart-view>` element).
 * - `chat_db_qa`: a Summarizer whose prompt holds the schema trimmed to the
 *   question; it answers in text, nothing is executed.
 */
@Injectable()
export class DataChat {
  constructor(private readonly datasources: DatasourcesService) {}

  /** The ports every team run gets. */
  ports(): ResourcePorts {
    return { data: this.datasources.dataPort() };
  }

  /** The run for a data chat request; 404 `datasource_not_found` when `chat_param` names none. */
  async prepare(request: ChatRequest): Promise<DataChatRun> {
    const name = request.chatParam!.trim();
    const strategy = { type: 'priority' as const, models: [request.model] };
    const app = (agentName: string, promptTemplate: string | null): AppDefinition => ({
      appCode: request.chatMode,
      appName: `${request.chatMode} ${name}`,
      teamMode: 'single_agent',
      language: 'en',
      teamContext: null,
      keepStartRounds: 0,
      keepEndRounds: 0,
      agents: [
        {
          agentName,
          resources: [{ type: 'database', name, value: JSON.stringify({ db_name: name }) }],
          promptTemplate,
          llmStrategy: strategy,
        },
      ],
    });
    if (request.chatMode === 'chat_data') {
      if (!(await this.datasources.exists(name))) throw notFound(name);
      return { app: app('DataScientist', null), renderer: new DataChatRenderer() };
    }
    const schema = await this.datasources.schemaFor(name, request.input);
    if (!schema.ok) {
      if (!(await this.datasources.exists(name))) throw notFound(name);
      throw ApiError.badRequest(
        'datasource_unreachable',
        `Datasource ${JSON.stringify(name)}: ${schema.reason}`,
        'chat_param',
      );
    }
    const prompt = [
      `You are a database expert. Answer the user's questions about the database "${name}"`,
      `(${schema.value.dialect}) from its structure below: tables, columns, types, keys, comments and sample values.`,
      '',
      'Constraints:',
      '- Answer from the structure only; no query is run, so do not state figures that are not shown here.',
      '- When asked how to get some data, you may show the SQL, but say that it was not executed.',
      '- If the structure does not answer the question, say so.',
      '',
      'Database structure:',
      schema.value.text,
    ].join('\n');
    return { app: app('Summarizer', prompt), renderer: createRenderer(false) };
  }
}

const notFound = (name: string) =>
  ApiError.notFound('datasource_not_found', `Datasource ${JSON.stringify(name)} was not found.`, 'chat_param');
