import { QueryFailedError } from 'typeorm';
import { DatabaseUnavailableError, isDatabaseUnavailable } from './db-errors';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('isDatabaseUnavailable', () => {
  it('is true for a database that is away, restarting or too slow, wrapped by TypeORM or not', () => {
    for (const e of [
      pgError('57P01', 'terminating connection due to administrator command'),
      pgError('57P03', 'the database system is starting up'),
      pgError('57014', 'canceling statement due to statement timeout'),
      pgError('53300', 'sorry, too many clients already'),
      pgError('08006'),
      pgError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated unexpectedly'),
      new Error('Query read timeout'),
      new DatabaseUnavailableError('ensemble-cancel-bus'),
    ]) {
      expect(isDatabaseUnavailable(e)).toBe(true);
      expect(isDatabaseUnavailable(new QueryFailedError('SELECT 1', [], e))).toBe(true);
    }
  });

  it('is false for errors of the statement or the input', () => {
    for (const e of [
      pgError('23505', 'duplicate key value violates unique constraint'),
      pgError('22021', 'invalid byte sequence for encoding "UTF8": 0x00'),
      pgError('42P01', 'relation "x" does not exist'),
      new Error('something else'),
      'a string',
      null,
    ]) {
      expect(isDatabaseUnavailable(e)).toBe(false);
    }
  });
});
