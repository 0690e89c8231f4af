import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { ApiError } from '../../apps/server/src/common/api-error';
import { loadConfig } from '../../apps/server/src/config/config';
import { InstanceLock } from '../../apps/server/src/conversations/instance-lock';
import { dataSourceOptions } from '../../apps/server/src/database/data-source';
import { PgPool } from '../../apps/server/src/database/pg-pool';
import { Sql } from '../../apps/server/src/database/sql';
import type { LimitSubject } from '../../apps/server/src/limits/limit-key';
import { LimitsRepository } from '../../apps/server/src/limits/limits.repository';
import { PgThrottlerStorage } from '../../apps/server/src/limits/pg-throttler-storage';
import { RunLimiter } from '../../apps/server/src/limits/run-limiter';
import { createTestDatabase, TestDatabase } from '../support/database';

/** The shared limiter's parts on a real Postgres database: windows, slots, and slots of processes that are gone. */
describe('limits in Postgres (LimitsRepository, PgThrottlerStorage, RunLimiter)', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let repo: LimitsRepository;
  let lock: InstanceLock;
  const subject = (key: string, maxConcurrentRuns: number | null = null): LimitSubject => ({
    key,
    rateLimitPerMinute: null,
    maxConcurrentRuns,
  });
  const limiter = (defaultMax: number) => new RunLimiter({ maxConcurrentRunsPerKey: defaultMax }, repo, lock);
  const refusal = async (p: Promise<unknown>): Promise<ApiError> => {
    const e = await p.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(ApiError);
    return e as ApiError;
  };
  const slotRows = async (key: string) =>
    Number((await ds.query(`SELECT count(*) AS n FROM run_slots WHERE limit_key = $1`, [key]))[0].n);

  beforeAll(async () => {
    db = await createTestDatabase();
    // The server's wiring: Sql on the pool the DataSource makes.
    const pg = new PgPool();
    ds = await new DataSource(dataSourceOptions(db.url, 4, undefined, pg.driver)).initialize();
    repo = new LimitsRepository(new Sql(pg));
    const config = loadConfig({ API_KEYS: 'k', DATABASE_URL: db.url });
    lock = new InstanceLock({ ...config, databaseUrl: db.url });
    await lock.onModuleInit();
  });
  afterAll(async () => {
    await lock?.onApplicationShutdown();
    await ds?.destroy();
    await db?.drop();
  });

  it('counts the requests of a window and starts a new window once it ended', async () => {
    const storage = new PgThrottlerStorage(repo);
    const first = await storage.increment('key:w', 1500, 2);
    expect(first).toMatchObject({ totalHits: 1, isBlocked: false, timeToBlockExpire: 0 });
    expect(first.timeToExpire).toBeGreaterThanOrEqual(1);
    expect(first.timeToExpire).toBeLessThanOrEqual(2);
    expect(await storage.increment('key:w', 1500, 2)).toMatchObject({ totalHits: 2, isBlocked: false });
    const blocked = await storage.increment('key:w', 1500, 2);
    expect(blocked).toMatchObject({ totalHits: 3, isBlocked: true });
    expect(blocked.timeToBlockExpire).toBe(blocked.timeToExpire);
    // Another key has its own window.
    expect(await storage.increment('key:other', 1500, 2)).toMatchObject({ totalHits: 1, isBlocked: false });
    await new Promise((r) => setTimeout(r, 1600));
    expect(await storage.increment('key:w', 1500, 2)).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('gives every concurrent request its own count', async () => {
    const counts = await Promise.all(Array.from({ length: 40 }, () => repo.hit('key:burst', 60_000)));
    expect(counts.map((c) => c.hits).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  it('deletes ended windows, a bounded batch at a time, and keeps open ones', async () => {
    await ds.query(`DELETE FROM rate_limit_windows`);
    for (let i = 0; i < 5; i++) await repo.hit(`key:short${i}`, 1);
    await repo.hit('key:open', 60_000);
    await new Promise((r) => setTimeout(r, 20));
    expect(await repo.deleteEndedWindows(3)).toBe(3);
    expect(await repo.deleteEndedWindows(3)).toBe(2);
    expect(await repo.deleteEndedWindows(3)).toBe(0);
    const left = await ds.query(`SELECT limit_key FROM rate_limit_windows`);
    expect(left).toEqual([{ limit_key: 'key:open' }]);
  });

  it("admits up to the key's cap, refuses with 429 too_many_runs, and frees a slot on release (once)", async () => {
    const runs = limiter(2);
    const a = await runs.acquire(subject('key:cap'));
    await runs.acquire(subject('key:cap'));
    const err = await refusal(runs.acquire(subject('key:cap')));
    expect(err.getStatus()).toBe(429);
    expect(err.code).toBe('too_many_runs');
    expect(err.headers).toEqual({ 'Retry-After': '1' });
    expect(err.message).toContain('limit 2, MAX_CONCURRENT_RUNS_PER_KEY');
    expect((await refusal(runs.check(subject('key:cap')))).code).toBe('too_many_runs');
    // Another key counts on its own.
    await expect(runs.acquire(subject('key:cap-other'))).resolves.toEqual(expect.any(Function));
    await a();
    await a();
    expect(await slotRows('key:cap')).toBe(1);
    await expect(runs.check(subject('key:cap'))).resolves.toBeUndefined();
    await runs.acquire(subject('key:cap'));
    await refusal(runs.acquire(subject('key:cap')));
  });

  it("uses the key's own cap over the default; 0 means unlimited and takes no slot", async () => {
    const runs = limiter(1);
    await runs.acquire(subject('key:own', 3));
    await runs.acquire(subject('key:own', 3));
    await runs.acquire(subject('key:own', 3));
    const err = await refusal(runs.acquire(subject('key:own', 3)));
    expect(err.message).toContain("limit 3, this key's max_concurrent_runs");
    const releases = await Promise.all(Array.from({ length: 20 }, () => runs.acquire(subject('key:free', 0))));
    expect(await slotRows('key:free')).toBe(0);
    await Promise.all(releases.map((r) => r()));
    await limiter(0).acquire(subject('key:free-default'));
    expect(await slotRows('key:free-default')).toBe(0);
  });

  it('lets exactly the cap through when many take slots at once', async () => {
    const runs = limiter(3);
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => runs.acquire(subject('key:race'))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(await slotRows('key:race')).toBe(3);
  });

  it('frees the slots of a process that is gone, not those of a live one', async () => {
    const other = new InstanceLock({ ...loadConfig({ API_KEYS: 'k', DATABASE_URL: db.url }), databaseUrl: db.url });
    await other.onModuleInit();
    try {
      await repo.takeSlot('key:sweep', randomUUID(), 'a-process-that-is-gone', 10);
      await repo.takeSlot('key:sweep', randomUUID(), other.instanceId, 10);
      await repo.takeSlot('key:sweep', randomUUID(), lock.instanceId, 10);
      await limiter(10).sweepDeadInstances();
      const left = await ds.query(`SELECT instance_id FROM run_slots WHERE limit_key = 'key:sweep' ORDER BY 1`);
      expect(left.map((r: { instance_id: string }) => r.instance_id).sort()).toEqual(
        [other.instanceId, lock.instanceId].sort(),
      );
    } finally {
      await other.onApplicationShutdown();
    }
  });
});
