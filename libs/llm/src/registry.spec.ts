import { LlmError } from './errors';
import { parseModelsConfig } from './models-config';
import { createScriptedModel, OfflineModel } from './providers/offline';
import { OpenAICompatibleModel } from './providers/openai-compatible';
import { ModelRegistry } from './registry';

const env = { OPENAI_API_KEY: 'sk-openai' };
const config = parseModelsConfig(
  {
    default: 'gpt-4o',
    models: [
      {
        name: 'chatgpt_proxyllm',
        provider: 'openai',
        model: 'gpt-4o-mini',
        base_url: 'https://api.openai.com/v1',
        api_key_env: 'OPENAI_API_KEY',
      },
      {
        name: 'gpt-4o',
        provider: 'openai',
        model: 'gpt-4o-2024-08-06',
        base_url: 'https://api.openai.com/v1',
        api_key_env: 'OPENAI_API_KEY',
      },
    ],
  },
  env,
);

describe('ModelRegistry', () => {
  it('builds the configured models plus the built-in offline model', () => {
    const registry = ModelRegistry.fromConfig(config);

    expect(registry.get('gpt-4o')).toBeInstanceOf(OpenAICompatibleModel);
    expect(registry.get('ensemble-offline')).toBeInstanceOf(OfflineModel);
    expect(registry.defaultModelName).toBe('gpt-4o');
    expect(registry.usingOfflineOnly).toBe(false);
    expect(registry.list()).toEqual([
      { name: 'chatgpt_proxyllm', provider: 'openai', model: 'gpt-4o-mini', isDefault: false },
      { name: 'gpt-4o', provider: 'openai', model: 'gpt-4o-2024-08-06', isDefault: true },
      { name: 'ensemble-offline', provider: 'offline', model: 'ensemble-offline', isDefault: false },
    ]);
  });

  it('matches names exactly', () => {
    const registry = ModelRegistry.fromConfig(config);

    expect(registry.has('gpt-4o')).toBe(true);
    expect(registry.has('gpt-4')).toBe(false);
    expect(registry.has('GPT-4o')).toBe(false);
  });

  it('throws unknown_model naming the model', () => {
    const registry = ModelRegistry.fromConfig(config);

    expect(() => registry.get('gpt-5')).toThrow(LlmError);
    expect(() => registry.get('gpt-5')).toThrow(
      'unknown model "gpt-5"; configured models: chatgpt_proxyllm, gpt-4o, ensemble-offline',
    );
    try {
      registry.get('gpt-5');
    } catch (err) {
      expect(err).toMatchObject({ code: 'unknown_model', model: 'gpt-5' });
    }
  });

  it('without a models file, serves the offline model only and says so', () => {
    const registry = ModelRegistry.fromFile(undefined, {});

    expect(registry.usingOfflineOnly).toBe(true);
    expect(registry.defaultModelName).toBe('ensemble-offline');
    expect(registry.list().map((m) => m.name)).toEqual(['ensemble-offline']);
  });

  it('builds from given models for tests, checking names and the default', () => {
    const a = createScriptedModel('a', ['x']);
    const b = createScriptedModel('b', ['y']);

    expect(ModelRegistry.fromModels([a, b]).defaultModelName).toBe('a');
    expect(ModelRegistry.fromModels([a, b], 'b').defaultModel).toBe(b);
    expect(() => ModelRegistry.fromModels([a, a])).toThrow('duplicate model name "a"');
    expect(() => ModelRegistry.fromModels([a], 'z')).toThrow('the default model "z" is not in the registry');
  });
});
