import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { startFakeOpenAI, type FakeOpenAI } from '../../../test/support/fake-openai';
import { LLM_PORT, LlmModule } from './llm.module';
import { LlmService } from './llm.service';
import type { LlmPort } from './port';
import { createScriptedModel } from './providers/offline';
import { ModelRegistry } from './registry';

const messages = [{ role: 'user' as const, content: 'hi' }];

describe('LlmModule', () => {
  let fake: FakeOpenAI;
  let warn: jest.SpyInstance;

  beforeAll(async () => {
    fake = await startFakeOpenAI({ apiKey: 'sk-module' });
  });
  beforeEach(() => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());
  afterAll(() => fake.close());

  it('without a models file, serves the offline model and logs that it does', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [LlmModule.forRoot({ env: {} })] }).compile();

    const registry = moduleRef.get(ModelRegistry);
    const port = moduleRef.get<LlmPort>(LLM_PORT);
    expect(registry.usingOfflineOnly).toBe(true);
    expect(port).toBe(moduleRef.get(LlmService));
    expect((await port.generate({ messages })).model).toBe('ensemble-offline');
    expect(warn).toHaveBeenCalledWith(
      expect.stringContaining('No model configured; using the offline model "ensemble-offline"'),
    );
  });

  it('builds from configuration given by a factory, and answers through the configured upstream', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ensemble-module-')), 'models.json');
    writeFileSync(
      file,
      JSON.stringify({
        models: [
          {
            name: 'chatgpt_proxyllm',
            provider: 'openai',
            model: 'gpt-4o-mini',
            base_url: fake.url,
            api_key_env: 'FAKE_KEY',
          },
        ],
      }),
    );
    const CONFIG = Symbol('CONFIG');
    @Module({
      providers: [{ provide: CONFIG, useValue: { modelsFile: file, env: { FAKE_KEY: 'sk-module' } } }],
      exports: [CONFIG],
    })
    class ConfigModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [
        LlmModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (config: { modelsFile: string; env: Record<string, string> }) => ({
            ...config,
            strategy: { retries: 0 },
          }),
        }),
      ],
    }).compile();

    const result = await moduleRef.get<LlmPort>(LLM_PORT).generate({ messages, model: 'chatgpt_proxyllm' });
    expect(result).toMatchObject({ model: 'chatgpt_proxyllm', text: 'echo: hi' });
    expect(moduleRef.get(ModelRegistry).usingOfflineOnly).toBe(false);
    expect(warn).not.toHaveBeenCalled();
  });

  it('serves a model without api_key_env from a server that takes no key, sending no Authorization', async () => {
    const keyless = await startFakeOpenAI();
    try {
      const file = join(mkdtempSync(join(tmpdir(), 'ensemble-module-')), 'models.json');
      writeFileSync(
        file,
        JSON.stringify({ models: [{ name: 'local', provider: 'openai', model: 'llama', base_url: keyless.url }] }),
      );
      const moduleRef = await Test.createTestingModule({
        imports: [LlmModule.forRoot({ modelsFile: file, env: {} })],
      }).compile();

      const result = await moduleRef.get<LlmPort>(LLM_PORT).generate({ messages });

      expect(result).toMatchObject({ model: 'local', text: 'echo: hi' });
      expect(keyless.chatRequests).toHaveLength(1);
      expect(keyless.chatRequests[0].headers.authorization).toBeUndefined();
      expect(keyless.chatRequests[0].body?.model).toBe('llama');
    } finally {
      await keyless.close();
    }
  });

  it('fails to start on an invalid models file, naming the problem', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ensemble-module-')), 'models.json');
    writeFileSync(
      file,
      JSON.stringify({
        models: [{ name: 'm', provider: 'openai', model: 'x', base_url: fake.url, api_key_env: 'MISSING_KEY' }],
      }),
    );

    await expect(
      Test.createTestingModule({ imports: [LlmModule.forRoot({ modelsFile: file, env: {} })] }).compile(),
    ).rejects.toThrow('models[0].api_key_env: environment variable MISSING_KEY is not set');
  });

  it('accepts a ready registry', async () => {
    const registry = ModelRegistry.fromModels([createScriptedModel('planner', ['[]'])]);
    const moduleRef = await Test.createTestingModule({ imports: [LlmModule.forRoot({ registry })] }).compile();

    expect(moduleRef.get(ModelRegistry)).toBe(registry);
    expect((await moduleRef.get(LlmService).generate({ messages })).text).toBe('[]');
  });
});
