/** `GET /api/v2/models`: the configured models in OpenAI's list shape, plus which one is the default. */
export interface ModelView {
  id: string;
  object: 'model';
  /** When the server started (seconds). */
  created: number;
  owned_by: string;
  upstream_model: string;
  default: boolean;
}

export interface ModelListView {
  object: 'list';
  data: ModelView[];
}
