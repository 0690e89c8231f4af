import { ConnectionSpec, DatasourceError } from './driver';
import { queryFailure } from './postgres.driver';

describe('queryFailure (Postgres reads)', () => {
  const spec: ConnectionSpec = {
    type: 'postgresql',
    host: '127.0.0.1',
    port: 5432,
    user: 'reader',
    password: 's3cret',
    database: 'shop',
    path: '',
  };
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('reports a parallel read cut by its time limit as the timeout, whatever its workers said', () => {
    const e = queryFailure(pgError('57014', 'canceling statement due to user request'), spec, true);
    expect(e).toBeInstanceOf(DatasourceError);
    expect(e.message).toBe('canceling statement due to statement timeout');
    expect(e.kind).toBe('timeout');
  });

  it('keeps the words of a cancel that came before the time limit', () => {
    const e = queryFailure(pgError('57014', 'canceling statement due to user request'), spec, false);
    expect(e.message).toBe('canceling statement due to user request');
    expect(e.kind).toBe('timeout');
  });

  it('reports other failures as failed, scrubbed of the password', () => {
    const e = queryFailure(pgError('42P01', 'relation "s3cret" does not exist'), spec, true);
    expect(e.kind).toBe('failed');
    expect(e.message).not.toContain('s3cret');
  });
});
