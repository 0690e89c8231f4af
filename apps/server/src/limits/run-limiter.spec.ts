import { HttpStatus } from '@nestjs/common';
import { ApiError, errorBody } from '../common/api-error';
import { limitKey } from './limit-key';
import { RunLimiter } from './run-limiter';

const limiter = (max: number) => new RunLimiter({ maxConcurrentRunsPerKey: max });

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected acquire() to throw');
}

describe('RunLimiter', () => {
  it('admits up to max runs per key, then refuses with 429 too_many_runs and Retry-After', () => {
    const runs = limiter(2);
    runs.acquire('key:a');
    runs.acquire('key:a');
    const err = refusal(() => runs.acquire('key:a'));
    expect(err).toBeInstanceOf(ApiError);
    expect(err.getStatus()).toBe(HttpStatus.TOO_MANY_REQUESTS);
    expect(err.code).toBe('too_many_runs');
    expect(err.headers).toEqual({ 'Retry-After': '1' });
    expect(err.message).toContain('MAX_CONCURRENT_RUNS_PER_KEY');
    expect(errorBody(429, err.code, err.message, err.param).error.type).toBe('invalid_request_error');
    expect(runs.inFlight('key:a')).toBe(2);
  });

  it('check() refuses as acquire() would, without taking a slot', () => {
    const runs = limiter(1);
    expect(() => runs.check('key:a')).not.toThrow();
    expect(runs.inFlight('key:a')).toBe(0);
    runs.acquire('key:a');
    const err = refusal(() => runs.check('key:a'));
    expect(err.code).toBe('too_many_runs');
    expect(err.headers).toEqual({ 'Retry-After': '1' });
    expect(runs.inFlight('key:a')).toBe(1);
    expect(() => limiter(0).check('key:a')).not.toThrow();
  });

  it('counts each key on its own', () => {
    const runs = limiter(1);
    runs.acquire('key:a');
    expect(() => runs.acquire('key:b')).not.toThrow();
    expect(() => runs.acquire('key:a')).toThrow(ApiError);
    expect(runs.total).toBe(2);
  });

  it('frees a slot on release; releasing twice frees only one', () => {
    const runs = limiter(2);
    const first = runs.acquire('k');
    runs.acquire('k');
    first();
    first();
    expect(runs.inFlight('k')).toBe(1);
    const third = runs.acquire('k');
    expect(() => runs.acquire('k')).toThrow(ApiError);
    third();
    expect(runs.inFlight('k')).toBe(1);
  });

  it('forgets a key once its last run ends', () => {
    const runs = limiter(3);
    const release = runs.acquire('k');
    release();
    expect(runs.inFlight('k')).toBe(0);
    expect(runs.total).toBe(0);
  });

  it('0 means unlimited', () => {
    const runs = limiter(0);
    const releases = Array.from({ length: 1000 }, () => runs.acquire('k'));
    expect(runs.inFlight('k')).toBe(1000);
    releases.forEach((r) => r());
    expect(runs.total).toBe(0);
  });
});

describe('limitKey', () => {
  it('is a digest of the bearer key (never the key), the same for the same key', () => {
    const a = limitKey({ headers: { authorization: 'Bearer secret-key-1' }, ip: '10.0.0.1' });
    const b = limitKey({ headers: { authorization: 'bearer  secret-key-1 ' }, ip: '10.0.0.2' });
    const c = limitKey({ headers: { authorization: 'Bearer secret-key-2' }, ip: '10.0.0.1' });
    expect(a).toMatch(/^key:[0-9a-f]{32}$/);
    expect(a).not.toContain('secret');
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it('falls back to the client IP without a key', () => {
    expect(limitKey({ headers: {}, ip: '10.0.0.9' })).toBe('ip:10.0.0.9');
  });
});
