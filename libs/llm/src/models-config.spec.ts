import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModelsConfig, ModelsConfigError, parseModelsConfig } from './models-config';

const env = { OPENAI_API_KEY: 'sk-openai', DEEPSEEK_KEY: 'sk-deepseek' };

const openai = (over: Record<string, unknown> = {}) => ({
  name: 'chatgpt_proxyllm',
  provider: 'openai',
  model: 'gpt-4o-mini',
  base_url: 'https://api.openai.com/v1',
  api_key_env: 'OPENAI_API_KEY',
  ...over,
});

function problemsOf(raw: unknown, environment: Record<string, string | undefined> = env): string[] {
  try {
    parseModelsConfig(raw, environment, 'models.json');
  } catch (err) {
    if (err instanceof ModelsConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the configuration to be rejected');
}

describe('parseModelsConfig', () => {
  it('reads the documented example, resolving the key from the environment', () => {
    const config = parseModelsConfig({ default: 'chatgpt_proxyllm', models: [openai()] }, env, 'models.json');

    expect(config).toEqual({
      defaultModel: 'chatgpt_proxyllm',
      source: 'models.json',
      models: [
        {
          provider: 'openai',
          name: 'chatgpt_proxyllm',
          model: 'gpt-4o-mini',
          baseUrl: 'https://api.openai.com/v1',
          apiKeyEnv: 'OPENAI_API_KEY',
          apiKey: 'sk-openai',
          headers: {},
          timeoutMs: undefined,
          defaults: {},
        },
      ],
    });
  });

  it('reads the optional fields and offline entries; the default defaults to the first model', () => {
    const config = parseModelsConfig(
      {
        models: [
          openai({
            name: 'deepseek',
            model: 'deepseek-chat',
            base_url: 'http://127.0.0.1:8000/v1',
            api_key_env: 'DEEPSEEK_KEY',
            headers: { 'X-Org': 'acme' },
            timeout_ms: 30000,
            defaults: { temperature: 0.3, max_tokens: 512, top_p: 1 },
          }),
          { name: 'dry-run', provider: 'offline', token_delay_ms: 0 },
        ],
      },
      env,
    );

    expect(config.defaultModel).toBe('deepseek');
    expect(config.models[0]).toMatchObject({
      apiKey: 'sk-deepseek',
      headers: { 'X-Org': 'acme' },
      timeoutMs: 30000,
      defaults: { temperature: 0.3, maxTokens: 512, topP: 1 },
    });
    expect(config.models[1]).toEqual({ provider: 'offline', name: 'dry-run', tokenDelayMs: 0 });
  });

  it('accepts the built-in offline model as default', () => {
    expect(parseModelsConfig({ default: 'ensemble-offline', models: [openai()] }, env).defaultModel).toBe(
      'ensemble-offline',
    );
  });

  it('names the bad entry in each problem', () => {
    const problems = problemsOf({
      models: [openai(), openai({ name: 'gpt-4o', base_url: 'ftp://example.com' })],
    });

    expect(problems).toEqual(['models[1].base_url must be an http(s) URL']);
  });

  it('rejects duplicate names', () => {
    expect(problemsOf({ models: [openai(), openai({ model: 'gpt-4o' })] })).toEqual([
      'models[1].name "chatgpt_proxyllm" is also the name of models[0]',
    ]);
  });

  it('rejects a default that is not in the list', () => {
    expect(problemsOf({ default: 'gpt-5', models: [openai()] })).toEqual([
      'default names "gpt-5", which is not the name of an entry of models',
    ]);
  });

  it('names a missing API key variable', () => {
    expect(problemsOf({ models: [openai()] }, {})).toEqual([
      'models[0].api_key_env: environment variable OPENAI_API_KEY is not set',
    ]);
  });

  it('reports an unset key variable once, not also as a missing default', () => {
    const models = [openai(), openai({ name: 'local', api_key_env: 'LOCAL_KEY' })];

    expect(problemsOf({ default: 'local', models }, { OPENAI_API_KEY: 'sk-openai' })).toEqual([
      'models[1].api_key_env: environment variable LOCAL_KEY is not set',
    ]);
    expect(problemsOf({ models: [openai({ base_url: 'nope' })] })).toEqual([
      'models[0].base_url must be an http(s) URL',
    ]);
  });

  it('takes an entry without api_key_env as a server that needs no key', () => {
    const { api_key_env: _omitted, ...keyless } = openai({ name: 'ollama', base_url: 'http://127.0.0.1:11434/v1' });

    const config = parseModelsConfig({ models: [keyless] }, {}, 'models.json');

    expect(config.models).toEqual([
      {
        provider: 'openai',
        name: 'ollama',
        model: 'gpt-4o-mini',
        baseUrl: 'http://127.0.0.1:11434/v1',
        headers: {},
        timeoutMs: undefined,
        defaults: {},
      },
    ]);
    expect(problemsOf({ models: [openai({ api_key_env: '' })] })).toEqual([
      'models[0].api_key_env must name the environment variable that holds the API key (or be left out for no key)',
    ]);
  });

  it('never echoes a key pasted into api_key_env', () => {
    const problems = problemsOf({ models: [openai({ api_key_env: 'sk-proj-abc123-secret' })] });

    expect(problems).toEqual([
      'models[0].api_key_env must be an environment variable name (letters, digits, _), not the key itself',
    ]);
    expect(problems.join()).not.toContain('sk-proj-abc123-secret');
  });

  it('rejects an unknown provider', () => {
    expect(problemsOf({ models: [openai({ provider: 'anthropic' })] })).toEqual([
      'models[0].provider must be one of openai, offline',
    ]);
  });

  it('rejects unknown keys, so typos do not pass silently', () => {
    expect(problemsOf({ models: [openai({ baseUrl: 'x' })], extra: 1 })).toEqual([
      'property extra should not exist',
      'property models[0].baseUrl should not exist',
    ]);
  });

  it('checks every field and reports all problems at once', () => {
    const problems = problemsOf({
      models: [
        { provider: 'openai', model: '', base_url: 'https://x', api_key_env: 'OPENAI_API_KEY', timeout_ms: 0 },
        openai({
          name: 'a,b',
          headers: { 'Bad Header': 'x', ok: 1 },
          defaults: { temperature: 3, max_tokens: 1.5, seed: 1 },
        }),
        'not an object',
      ],
    });

    expect(problems).toEqual([
      'models[0].name must be a non-empty string',
      'models[0].model (the upstream model id) must be a non-empty string',
      'models[0].timeout_ms must be an integer of at least 1',
      'property models[1].defaults.seed should not exist',
      'models[1].defaults.temperature must be a number from 0 to 2',
      'models[1].defaults.max_tokens must be an integer of at least 1',
      'models[1].name must not contain commas or surrounding spaces',
      'models[1].headers must map header names to strings: "Bad Header" is not a valid header name, the value of "ok" is not a string',
      'models[2] must be an object',
    ]);
  });

  it('refuses the keys of other kinds of entry, nulls and values of the wrong shape', () => {
    expect(
      problemsOf({
        models: [
          { name: 'dry-run', provider: 'offline', model: 'x', token_delay_ms: -1 },
          openai({ api_key_env: null, headers: ['X-Org'], defaults: 'warm' }),
        ],
        default: null,
      }),
    ).toEqual([
      'default must be a model name',
      'property models[0].model should not exist',
      'models[0].token_delay_ms must be an integer of at least 0',
      'models[1].defaults must be an object',
      'models[1].api_key_env must name the environment variable that holds the API key (or be left out for no key)',
      'models[1].headers must be an object of strings',
    ]);
  });

  it('judges only the name and provider of an entry of an unknown provider', () => {
    expect(problemsOf({ models: [{ name: ' x', provider: 'anthropic', api_key: 'sk-secret' }] })).toEqual([
      'models[0].name must not contain commas or surrounding spaces',
      'models[0].provider must be one of openai, offline',
    ]);
  });

  it('requires a non-empty models list', () => {
    expect(problemsOf({ models: [] })).toEqual(['models must be a non-empty list']);
    expect(problemsOf([])).toEqual(['the top level must be a JSON object']);
  });
});

describe('parseModelsConfig: embedding models', () => {
  const embed = (over: Record<string, unknown> = {}) =>
    openai({ name: 'embed', type: 'embedding', model: 'text-embedding-3-small', ...over });

  it('reads an embedding entry apart from the chat models; the default stays a chat model', () => {
    const config = parseModelsConfig(
      { models: [embed({ dimensions: 256, batch_size: 16, timeout_ms: 5000 }), openai()] },
      env,
      'models.json',
    );
    expect(config.defaultModel).toBe('chatgpt_proxyllm');
    expect(config.models.map((m) => m.name)).toEqual(['chatgpt_proxyllm']);
    expect(config.embedding).toEqual({
      provider: 'openai',
      name: 'embed',
      model: 'text-embedding-3-small',
      baseUrl: 'https://api.openai.com/v1',
      apiKeyEnv: 'OPENAI_API_KEY',
      apiKey: 'sk-openai',
      headers: {},
      timeoutMs: 5000,
      dimensions: 256,
      batchSize: 16,
    });
  });

  it('picks the embedding model the top-level "embedding" names; only embeddings: the offline default', () => {
    const config = parseModelsConfig({ embedding: 'second', models: [embed(), embed({ name: 'second' })] }, env);
    expect(config.embedding?.name).toBe('second');
    expect(config.defaultModel).toBe('ensemble-offline');
    expect(config.models).toEqual([]);
  });

  it('reports a bad type, chat-only keys, an embedding default and a wrong "embedding"', () => {
    expect(problemsOf({ models: [openai({ type: 'vision' })] })).toEqual([
      'models[0].type must be one of chat, embedding (default chat)',
    ]);
    expect(problemsOf({ models: [embed({ defaults: { temperature: 1 }, dimensions: 0 })] })).toEqual([
      'property models[0].defaults should not exist',
      'models[0].dimensions must be an integer of at least 1',
    ]);
    expect(problemsOf({ default: 'embed', models: [embed(), openai()] })).toEqual([
      'default names "embed", an embedding model (the default must be a chat model)',
    ]);
    expect(problemsOf({ embedding: 'chatgpt_proxyllm', models: [embed(), openai()] })).toEqual([
      'embedding names "chatgpt_proxyllm", which is not an entry of models with "type": "embedding"',
    ]);
  });
});

describe('loadModelsConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ensemble-models-'));
  const write = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it('without a path, configures nothing and defaults to the offline model', () => {
    expect(loadModelsConfig(undefined, env)).toEqual({ defaultModel: 'ensemble-offline', models: [] });
  });

  it('reads a file', () => {
    const path = write('ok.json', JSON.stringify({ models: [openai()] }));

    expect(loadModelsConfig(path, env)).toMatchObject({ defaultModel: 'chatgpt_proxyllm', source: path });
  });

  it('names the file when it is missing or not JSON', () => {
    const bad = write('bad.json', '{ "models": [ ');

    expect(() => loadModelsConfig(join(dir, 'missing.json'), env)).toThrow(
      `Invalid models file ${join(dir, 'missing.json')}:\n  - cannot read the file (ENOENT)`,
    );
    expect(() => loadModelsConfig(bad, env)).toThrow(new RegExp(`^Invalid models file ${bad}:\\n  - not valid JSON`));
  });
});
