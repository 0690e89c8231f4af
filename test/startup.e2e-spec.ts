/**
 * What a person sees when the server starts: a short summary at `info` (where
 * to go, the database, the models, the keys), every line in the one JSON log
 * format, and Nest's module and route wiring only at `debug`.
 */
import { sharedBuild, CompiledServerBuild, RunningProcess, startCompiledServer } from './support/compiled-server';
import { createTestDatabase, TestDatabase } from './support/database';

interface LogLine {
  level: string;
  context?: string;
  msg: string;
}

const WIRING = ['NestFactory', 'InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestApplication'];

/**
 * Waits (5 s at most) until the start-up summary's last line has been read from the server's output: it is
 * written after listen(), after the wiring, and the health check the start waited for may have answered first.
 */
async function summaryWritten(running: RunningProcess): Promise<void> {
  for (let i = 0; i < 100 && !running.output().includes('API keys:'); i++) await new Promise((r) => setTimeout(r, 50));
}

function parseLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
    });
}

describe('start-up output of the compiled server', () => {
  let build: CompiledServerBuild;
  let db: TestDatabase;
  let running: RunningProcess | undefined;

  beforeAll(async () => {
    [build, db] = await Promise.all([sharedBuild(), createTestDatabase()]);
  }, 180_000);

  afterEach(async () => {
    await running?.stop();
    running = undefined;
  }, 30_000);

  afterAll(async () => {
    await db?.drop();
  }, 30_000);

  it('says where to go, what it runs on and how it is secured, in JSON lines, without the wiring', async () => {
    running = await startCompiledServer(build.main, {
      API_KEYS: 'startup-key-1,startup-key-2',
      DATABASE_URL: db.url,
      LOG_LEVEL: 'info',
    });
    const port = new URL(running.origin).port;
    await summaryWritten(running);
    const lines = parseLines(running.output());
    const summary = lines.filter((l) => l.context === 'Ensemble').map((l) => [l.level, l.msg]);
    const dbUrl = new URL(db.url);
    expect(summary).toEqual([
      ['info', `Ensemble is ready at http://127.0.0.1:${port}/api (API docs: http://127.0.0.1:${port}/api/docs)`],
      ['info', `Database: Postgres at ${dbUrl.hostname}:${dbUrl.port || '5432'}${dbUrl.pathname}`],
      [
        'info',
        'Models: no language model is configured; the built-in offline model answers (set MODELS_FILE to add one)',
      ],
      ['info', 'API keys: 2 configured (send Authorization: Bearer <key>)'],
    ]);
    expect(lines.filter((l) => WIRING.includes(l.context ?? ''))).toEqual([]);
    expect(running.output()).not.toContain('startup-key-1');
    // Both keys are 13 characters: one warning about them, which names neither.
    expect(lines.filter((l) => l.context === 'Auth').map((l) => [l.level, l.msg])).toEqual([
      ['warn', expect.stringMatching(/^2 of the 2 API_KEYS are shorter than 16 characters: use long random keys/)],
    ]);
  }, 90_000);

  it('warns of no key when every key is long', async () => {
    running = await startCompiledServer(build.main, {
      API_KEYS: `startup-key-long-enough-1,${'x'.repeat(64)}`,
      DATABASE_URL: db.url,
      LOG_LEVEL: 'info',
    });
    await summaryWritten(running);
    const lines = parseLines(running.output());
    expect(lines.find((l) => l.msg.startsWith('API keys:'))?.msg).toBe(
      'API keys: 2 configured (send Authorization: Bearer <key>)',
    );
    expect(lines.filter((l) => l.context === 'Auth')).toEqual([]);
  }, 90_000);

  it('logs the wiring at debug', async () => {
    running = await startCompiledServer(build.main, {
      API_KEYS: 'startup-key-1',
      DATABASE_URL: db.url,
      LOG_LEVEL: 'debug',
    });
    await summaryWritten(running);
    const wiring = parseLines(running.output()).filter((l) => WIRING.includes(l.context ?? ''));
    expect(wiring.length).toBeGreaterThan(5);
    expect(new Set(wiring.map((l) => l.level))).toEqual(new Set(['debug']));
    expect(wiring.map((l) => l.msg)).toContain('Mapped {/api/v2/serve/apps, GET} route');
  }, 90_000);
});
