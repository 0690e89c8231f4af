import { INSECURE_PRINCIPAL } from '../auth/principal';
import type { Principal } from '../keys/key.types';
import { limitSubject } from './limit-key';

const principal = (over: Partial<Principal> = {}): Principal => ({
  keyId: '5b0c6a3e-0000-4000-8000-000000000001',
  scopes: ['chat'],
  appCodes: null,
  rateLimitPerMinute: null,
  maxConcurrentRuns: null,
  ...over,
});

describe('limitSubject', () => {
  it("is the authenticated key's id (never its secret), with the key record's limits", () => {
    const req = {
      headers: { authorization: 'Bearer ens_secret' },
      ip: '10.0.0.1',
      principal: principal({ rateLimitPerMinute: 5, maxConcurrentRuns: 0 }),
    };
    expect(limitSubject(req)).toEqual({
      key: 'key:5b0c6a3e-0000-4000-8000-000000000001',
      rateLimitPerMinute: 5,
      maxConcurrentRuns: 0,
    });
    expect(JSON.stringify(limitSubject(req))).not.toContain('secret');
  });

  it('is the same key from any client address; bootstrap keys have the server defaults', () => {
    const a = limitSubject({ ip: '10.0.0.1', principal: principal({ keyId: 'env:1' }) } as never);
    const b = limitSubject({ ip: '10.0.0.2', principal: principal({ keyId: 'env:1' }) } as never);
    expect(a).toEqual(b);
    expect(a).toEqual({ key: 'key:env:1', rateLimitPerMinute: null, maxConcurrentRuns: null });
  });

  it('falls back to the client IP without authentication (ENSEMBLE_INSECURE_NO_AUTH)', () => {
    expect(limitSubject({ ip: '10.0.0.9', principal: INSECURE_PRINCIPAL } as never).key).toBe('ip:10.0.0.9');
    expect(limitSubject({ ip: '10.0.0.9' }).key).toBe('ip:10.0.0.9');
    expect(limitSubject({ ip: undefined, socket: { remoteAddress: '10.0.0.8' } }).key).toBe('ip:10.0.0.8');
  });
});
