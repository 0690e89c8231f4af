import { resolve } from 'node:path';
import { ConfigError, loadConfig } from './config';

const KEY = { API_KEYS: 'k1' };

/** The ConfigError loadConfig throws for `env` (fails the test if it does not throw). */
function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  describe('defaults', () => {
    // toMatchObject: settings added later have their own tests.
    it('fills every setting from a minimal environment', () => {
      const config = loadConfig(KEY);
      expect(config).toMatchObject({
        port: 5670,
        host: '127.0.0.1',
        apiKeys: ['k1'],
        insecureNoAuth: false,
        dataDir: resolve('.data'),
        dbPoolSize: 10,
        bodyLimit: '1mb',
        logLevel: 'info',
        ssePingIntervalMs: 15000,
      });
      expect(config).toHaveProperty('databaseUrl', undefined);
      expect(config).toHaveProperty('modelsFile', undefined);
    });

    it('reads every variable it knows, and ignores the rest of the environment', () => {
      const config = loadConfig({
        PORT: '8080',
        HOST: '127.0.0.1',
        API_KEYS: 'a',
        DATABASE_URL: 'postgresql://u:p@db:5432/ensemble',
        DATA_DIR: '/var/lib/ensemble',
        DB_POOL_SIZE: '25',
        MODELS_FILE: 'models.json',
        BODY_LIMIT: '512kb',
        LOG_LEVEL: 'debug',
        SSE_PING_INTERVAL_MS: '2000',
        HOME: '/root',
        SOMETHING_ELSE: 'whatever',
      });
      expect(config).toMatchObject({
        port: 8080,
        host: '127.0.0.1',
        apiKeys: ['a'],
        insecureNoAuth: false,
        databaseUrl: 'postgresql://u:p@db:5432/ensemble',
        dataDir: '/var/lib/ensemble',
        dbPoolSize: 25,
        modelsFile: resolve('models.json'),
        bodyLimit: '512kb',
        logLevel: 'debug',
        ssePingIntervalMs: 2000,
      });
    });

    it('reads the stall timeout and the history cap, with their defaults and bounds', () => {
      expect(loadConfig(KEY)).toMatchObject({ sseStallTimeoutMs: 60000, historyMaxChars: 200000 });
      expect(loadConfig({ ...KEY, SSE_STALL_TIMEOUT_MS: '1500', HISTORY_MAX_CHARS: '5000' })).toMatchObject({
        sseStallTimeoutMs: 1500,
        historyMaxChars: 5000,
      });
      expect(() => loadConfig({ ...KEY, SSE_STALL_TIMEOUT_MS: '50' })).toThrow(/SSE_STALL_TIMEOUT_MS/);
      expect(() => loadConfig({ ...KEY, HISTORY_MAX_CHARS: 'lots' })).toThrow(/HISTORY_MAX_CHARS/);
    });

    it('reads RUN_RETENTION as a duration with a unit, and the sweep interval, with their defaults', () => {
      expect(loadConfig(KEY)).toMatchObject({ runRetentionMs: 24 * 3_600_000, runSweepIntervalMs: 10000 });
      expect(loadConfig({ ...KEY, RUN_RETENTION: '30m', RUN_SWEEP_INTERVAL_MS: '500' })).toMatchObject({
        runRetentionMs: 1_800_000,
        runSweepIntervalMs: 500,
      });
      expect(loadConfig({ ...KEY, RUN_RETENTION: ' 1500ms ' }).runRetentionMs).toBe(1500);
      expect(loadConfig({ ...KEY, RUN_RETENTION: '7d' }).runRetentionMs).toBe(7 * 86_400_000);
      for (const bad of ['24', 'h', '1.5h', '-1h', '24 hours'])
        expect(problemsOf({ ...KEY, RUN_RETENTION: bad })).toEqual([expect.stringContaining('RUN_RETENTION')]);
      expect(() => loadConfig({ ...KEY, RUN_SWEEP_INTERVAL_MS: '10' })).toThrow(/RUN_SWEEP_INTERVAL_MS/);
    });

    it('accepts postgres:// and postgresql:// URLs and trims integers', () => {
      expect(loadConfig({ ...KEY, DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x' }).databaseUrl).toBe(
        'postgres://postgres@127.0.0.1:5432/x',
      );
      expect(loadConfig({ ...KEY, PORT: ' 80 ' }).port).toBe(80);
      expect(loadConfig({ ...KEY, PORT: '0' }).port).toBe(0);
    });

    it('reads BODY_LIMIT as a size with or without a unit', () => {
      for (const limit of ['1mb', '512KB', '100000', '1.5mb', '2 gb', '10b']) {
        expect(loadConfig({ ...KEY, BODY_LIMIT: limit }).bodyLimit).toBe(limit);
      }
    });
  });

  describe('bad values are named in the error', () => {
    it.each([
      ['PORT', 'abc', /^PORT must be an integer number \(got "abc"\)$/],
      ['PORT', '1.5', /^PORT must be an integer number/],
      ['PORT', '70000', /^PORT must not be greater than 65535 \(got 70000\)$/],
      ['PORT', '-1', /^PORT must not be less than 0/],
      [
        'DATABASE_URL',
        'mysql://root@localhost/ensemble',
        /^DATABASE_URL must be a postgres:\/\/ or postgresql:\/\/ URL \(got "mysql:\/\/root@localhost\/ensemble"\)$/,
      ],
      ['DATABASE_URL', 'postgres://', /^DATABASE_URL must be a postgres/],
      ['BODY_LIMIT', 'lots', /^BODY_LIMIT must look like 1mb, 512kb or a number of bytes \(got "lots"\)$/],
      ['BODY_LIMIT', '-1mb', /^BODY_LIMIT must look like/],
      ['LOG_LEVEL', 'loud', /^LOG_LEVEL must be one of the following values: .*info.* \(got "loud"\)$/],
      ['DB_POOL_SIZE', '0', /^DB_POOL_SIZE must not be less than 1 \(got 0\)$/],
      ['DB_POOL_SIZE', 'ten', /^DB_POOL_SIZE must be an integer number \(got "ten"\)$/],
      ['DB_POOL_SIZE', '1000', /^DB_POOL_SIZE must not be greater than 200/],
      ['SSE_PING_INTERVAL_MS', '5', /^SSE_PING_INTERVAL_MS must not be less than 100/],
      ['ENSEMBLE_INSECURE_NO_AUTH', 'maybe', /^ENSEMBLE_INSECURE_NO_AUTH must be a boolean value \(got "maybe"\)$/],
    ])('%s=%s', (name, value, message) => {
      const problems = problemsOf({ ...KEY, [name]: value });
      // One sentence for the one bad setting, naming it and the value it got.
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(message);
    });

    it('reports several bad settings at once, each by name, in one message', () => {
      let error: unknown;
      try {
        loadConfig({
          PORT: 'abc',
          DATABASE_URL: 'mysql://x',
          BODY_LIMIT: 'lots',
          LOG_LEVEL: 'loud',
          DB_POOL_SIZE: '0',
        });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const { problems, message } = error as ConfigError;
      expect(problems).toHaveLength(6);
      for (const name of ['PORT', 'DATABASE_URL', 'BODY_LIMIT', 'LOG_LEVEL', 'DB_POOL_SIZE', 'API_KEYS']) {
        expect(problems.filter((p) => p.startsWith(name))).toHaveLength(1);
        expect(message).toContain(name);
      }
      expect(message.split('\n')[0]).toBe('Invalid configuration:');
    });
  });

  describe('API keys', () => {
    it('refuses to start without a key, saying how to fix it', () => {
      const problems = problemsOf({});
      expect(problems).toEqual([
        expect.stringMatching(/^API_KEYS is empty: set API_KEYS .*ENSEMBLE_INSECURE_NO_AUTH=true/),
      ]);
    });

    it('refuses a list of blanks and commas as no key', () => {
      expect(problemsOf({ API_KEYS: ' , ,' })[0]).toMatch(/^API_KEYS is empty/);
    });

    it('refuses when the insecure flag is present but not true', () => {
      expect(problemsOf({ ENSEMBLE_INSECURE_NO_AUTH: 'false' })).toEqual([expect.stringMatching(/^API_KEYS is empty/)]);
      expect(problemsOf({ ENSEMBLE_INSECURE_NO_AUTH: '0' })).toEqual([expect.stringMatching(/^API_KEYS is empty/)]);
    });

    it('starts open with no key only when ENSEMBLE_INSECURE_NO_AUTH is true', () => {
      for (const flag of ['true', 'TRUE', '1', 'yes', 'on']) {
        const config = loadConfig({ ENSEMBLE_INSECURE_NO_AUTH: flag });
        expect(config.apiKeys).toEqual([]);
        expect(config.insecureNoAuth).toBe(true);
      }
    });

    it('ignores the insecure flag when keys are configured (the keys are enforced)', () => {
      const config = loadConfig({ API_KEYS: 'k1', ENSEMBLE_INSECURE_NO_AUTH: 'true' });
      expect(config.insecureNoAuth).toBe(false);
      expect(config.apiKeys).toEqual(['k1']);
    });

    it('splits a comma-separated list, trimming blanks and dropping empty items', () => {
      expect(loadConfig({ API_KEYS: ' one, two ,,three ' }).apiKeys).toEqual(['one', 'two', 'three']);
    });
  });

  describe('empty strings count as unset', () => {
    it('uses the defaults for empty variables', () => {
      const config = loadConfig({
        ...KEY,
        PORT: '',
        HOST: '',
        DATABASE_URL: '',
        DATA_DIR: '',
        DB_POOL_SIZE: '',
        MODELS_FILE: '',
        BODY_LIMIT: '',
        LOG_LEVEL: '',
        SSE_PING_INTERVAL_MS: '',
        ENSEMBLE_INSECURE_NO_AUTH: '',
      });
      expect(config).toEqual(loadConfig(KEY));
      expect(config.databaseUrl).toBeUndefined();
      expect(config.modelsFile).toBeUndefined();
    });

    it('treats API_KEYS="" as no key (refused) and ENSEMBLE_INSECURE_NO_AUTH="" as not set', () => {
      expect(problemsOf({ API_KEYS: '' })[0]).toMatch(/^API_KEYS is empty/);
      expect(problemsOf({ API_KEYS: '', ENSEMBLE_INSECURE_NO_AUTH: '' })[0]).toMatch(/^API_KEYS is empty/);
    });
  });
});
