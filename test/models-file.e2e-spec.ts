/**
 * A bad models file stops the compiled server (what `npm start` runs) the way
 * a bad setting does: exit 78 (EX_CONFIG) with one clean message listing
 * only the true problems, before any database is touched and without a stack.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedBuild, CompiledServerBuild, runToExit } from './support/compiled-server';
import { API_KEY } from './support/server';

describe('compiled server with a bad models file', () => {
  let build: CompiledServerBuild;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ensemble-models-file-'));
    build = await sharedBuild();
  }, 180_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const modelsFile = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  const start = (file: string, env: Record<string, string> = {}) =>
    runToExit(build.main, {
      API_KEYS: API_KEY,
      DATA_DIR: join(dir, 'data'),
      MODELS_FILE: file,
      // A database that would refuse: it must not even be tried.
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      ...env,
    });

  it('names an unset key variable once, with no stack and no other problem (exit 78)', async () => {
    const file = modelsFile('unset-key.json', {
      default: 'local',
      models: [
        {
          name: 'local',
          provider: 'openai',
          model: 'm',
          base_url: 'http://127.0.0.1:9/v1',
          api_key_env: 'ENSEMBLE_E2E_UNSET_KEY',
        },
      ],
    });

    const { code, output } = await start(file);

    expect(code).toBe(78);
    expect(output).toBe(
      `Invalid models file ${file}:\n  - models[0].api_key_env: environment variable ENSEMBLE_E2E_UNSET_KEY is not set\n`,
    );
  }, 30_000);

  it('lists every problem of the file, and a file that is not JSON (exit 78)', async () => {
    const file = modelsFile('two-problems.json', {
      models: [
        { name: 'a', provider: 'openai', model: 'm', base_url: 'ftp://x' },
        { name: 'b', provider: 'anthropic' },
      ],
    });
    const broken = modelsFile('broken.json', '{ "models": [');

    const first = await start(file);
    const second = await start(broken);

    expect([first.code, first.output]).toEqual([
      78,
      `Invalid models file ${file}:\n` +
        '  - models[0].base_url must be an http(s) URL\n' +
        '  - models[1].provider must be one of openai, offline\n',
    ]);
    expect(second.code).toBe(78);
    expect(second.output).toMatch(new RegExp(`^Invalid models file ${broken}:\\n  - not valid JSON \\(.+\\)\\n$`));
  }, 30_000);
});
