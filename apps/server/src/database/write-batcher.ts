import { SqlStatement } from './sql-statement';

/**
 * Runs one SQL statement (rows not needed); rejects with the statement's
 * failure. `merged`: the statement joins several writes (its text is one of
 * many combinations, not worth preparing).
 */
export type StatementRunner = (sql: string, params: unknown[], merged: boolean) => Promise<void>;

interface Pending {
  statement: SqlStatement;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface WriteBatcherOptions {
  /** Statements in flight at once; further writes wait and are merged. Default 4. */
  maxInFlight?: number;
  /** Most parameters in one merged statement (Postgres allows 65,535). Default 4,000. */
  maxParams?: number;
}

/**
 * The run writes of the whole process, merged across runs under load (the
 * private plumbing of `RunsRepository`, which owns their SQL): a
 * write goes out at once while fewer than `maxInFlight` statements are in
 * flight; otherwise it waits, and the writes that waited leave together as
 * one statement (one round trip, one commit) when a slot frees. Under light
 * load nothing waits; under heavy load the cost per run falls.
 *
 * Merging is safe because writes of different runs touch different rows,
 * and a run never has two writes pending at once (its recorder sends the
 * next one after the last landed). When a merged statement fails, nothing of
 * it landed: each write is retried alone, so a bad write fails only itself.
 */
export class WriteBatcher {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private readonly maxInFlight: number;
  private readonly maxParams: number;

  constructor(
    private readonly run: StatementRunner,
    options: WriteBatcherOptions = {},
  ) {
    this.maxInFlight = options.maxInFlight ?? 4;
    this.maxParams = options.maxParams ?? 4000;
  }

  /** Resolves once `statement` has landed; rejects with its own failure. */
  write(statement: SqlStatement): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ statement, resolve, reject });
      if (this.inFlight < this.maxInFlight) void this.next();
    });
  }

  private async next(): Promise<void> {
    this.inFlight++;
    try {
      while (this.queue.length > 0) {
        const batch = this.take();
        if (batch.length === 1) await this.alone(batch[0]);
        else await this.merged(batch);
      }
    } finally {
      this.inFlight--;
    }
  }

  /** The longest prefix of the queue within `maxParams` (always at least one write). */
  private take(): Pending[] {
    let params = this.queue[0].statement.params.length;
    let n = 1;
    while (n < this.queue.length && params + this.queue[n].statement.params.length <= this.maxParams) {
      params += this.queue[n].statement.params.length;
      n++;
    }
    return this.queue.splice(0, n);
  }

  private alone(p: Pending): Promise<void> {
    return this.run(p.statement.sql, p.statement.params, false).then(p.resolve, p.reject);
  }

  private async merged(batch: Pending[]): Promise<void> {
    const all = new SqlStatement();
    for (const p of batch) all.append(p.statement);
    try {
      await this.run(all.sql, all.params, true);
    } catch {
      for (const p of batch) await this.alone(p);
      return;
    }
    for (const p of batch) p.resolve();
  }
}
