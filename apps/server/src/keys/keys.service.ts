import { HttpStatus, Inject, Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { Request } from 'express';
import { bearerToken } from '../auth/bearer-token';
import { INSECURE_PRINCIPAL } from '../auth/principal';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { ApiError } from '../common/api-error';
import { APP_CONFIG, AppConfig } from '../config/config';
import type { CreatedKeyView, KeyGrant, KeyView, Principal, Scope } from './key.types';
import { KeysRepository } from './keys.repository';

/** What every secret starts with, so a leaked one is recognisable (and greppable) as an Ensemble key. */
export const KEY_PREFIX = 'ens_';

/** How long a replica trusts what it read of a key: revocation and expiry reach every replica within this. */
export const KEY_CACHE_MS = 1000;
/** How often `last_used_at` is written, for all keys used meanwhile, in one statement. */
const TOUCH_INTERVAL_MS = 5000;
/** Bound on cached lookups (unknown tokens included), so random tokens cannot grow memory. */
const CACHE_LIMIT = 10_000;

/**
 * SHA-256 of a secret. A fast hash is right here: the secrets are 256 random
 * bits, so no dictionary or brute force applies (slow hashes protect
 * low-entropy passwords), and a fast one keeps authentication to a lookup.
 */
export const hashSecret = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('hex');

interface Cached {
  grant: KeyGrant | null;
  until: number;
}

export interface CreateKeyInput {
  name: string;
  scopes: Scope[];
  appCodes: string[] | null;
  expiresAt: Date | null;
  /** Null: the server default; 0: unlimited. */
  rateLimitPerMinute: number | null;
  maxConcurrentRuns: number | null;
}

/** Keys as data: created, listed and revoked by admins; resolved to a principal on every request. */
@Injectable()
export class KeysService implements OnModuleDestroy {
  private readonly logger = new Logger('Keys');
  private readonly envDigests: Buffer[];
  private readonly cache = new Map<string, Cached>();
  private readonly used = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly repo: KeysRepository,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.envDigests = config.apiKeys.map((k) => createHash('sha256').update(k, 'utf8').digest());
    this.timer = setInterval(() => void this.flushUsage(), TOUCH_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.flushUsage();
  }

  async create(input: CreateKeyInput, createdBy: string): Promise<CreatedKeyView> {
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw ApiError.badRequest('validation_error', 'expires_at must be in the future.', 'expires_at');
    }
    if (input.appCodes && input.scopes.includes('admin')) {
      throw ApiError.badRequest(
        'validation_error',
        'app_codes applies to chat keys only, not admin keys.',
        'app_codes',
      );
    }
    const secret = KEY_PREFIX + randomBytes(32).toString('base64url');
    const view = await this.repo.insert({
      id: randomUUID(),
      name: input.name,
      prefix: secret.slice(0, KEY_PREFIX.length + 8),
      hash: hashSecret(secret),
      scopes: input.scopes,
      appCodes: input.appCodes,
      expiresAt: input.expiresAt,
      rateLimitPerMinute: input.rateLimitPerMinute,
      maxConcurrentRuns: input.maxConcurrentRuns,
      createdBy,
    });
    this.logger.log(`Key ${view.id} (${view.prefix}…) created with scopes ${view.scopes.join(',')}`);
    return { ...view, key: secret };
  }

  list(limit: number, offset: number): Promise<{ items: KeyView[]; total: number }> {
    return this.repo.page(limit, offset);
  }

  async revoke(id: string): Promise<KeyView> {
    const view = /^[0-9a-f-]{36}$/i.test(id) ? await this.repo.revoke(id) : null;
    if (!view) throw ApiError.notFound('key_not_found', `No key with id ${JSON.stringify(id)}.`, 'id');
    this.cache.clear();
    this.logger.log(`Key ${view.id} (${view.prefix}…) revoked`);
    return view;
  }

  /**
   * The caller of a request: its bearer key's principal, everyone without
   * authentication, or null (refused). A promise only when the key has to
   * be read from the database (see `authenticate`).
   */
  authenticateRequest(req: Pick<Request, 'headers'>): Principal | null | Promise<Principal | null> {
    if (this.config.insecureNoAuth) return INSECURE_PRINCIPAL;
    const token = bearerToken(req);
    return token ? this.authenticate(token) : null;
  }

  /** The 401 of a request `authenticateRequest` refused. */
  refusal(req: Pick<Request, 'headers'>): ApiError {
    return new ApiError(
      HttpStatus.UNAUTHORIZED,
      'invalid_api_key',
      bearerToken(req) ? 'The API key is not valid.' : 'Missing API key: send Authorization: Bearer <key>.',
    );
  }

  /**
   * The principal a bearer token stands for, or null when it is no valid
   * key. Bootstrap keys and stored keys read in the last KEY_CACHE_MS are
   * answered at once; a promise only when the key is read from the database.
   */
  authenticate(token: string): Principal | null | Promise<Principal | null> {
    const env = this.envKeyIndex(token);
    // Bootstrap keys have the server's default limits.
    if (env >= 0) {
      return {
        keyId: `env:${env + 1}`,
        scopes: ['admin'],
        appCodes: null,
        rateLimitPerMinute: null,
        maxConcurrentRuns: null,
      };
    }
    if (!token.startsWith(KEY_PREFIX)) return null;
    const hash = hashSecret(token);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return this.grantPrincipal(cached.grant, now);
    return this.repo.findByHash(hash).then((grant) => {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(hash, { grant, until: now + KEY_CACHE_MS });
      return this.grantPrincipal(grant, now);
    });
  }

  /** The principal of a stored key's grant, counted as used; null when there is none or it is revoked or expired. */
  private grantPrincipal(grant: KeyGrant | null, now: number): Principal | null {
    if (!grant || grant.revoked || (grant.expiresAt && grant.expiresAt.getTime() <= now)) return null;
    this.used.add(grant.id);
    return {
      keyId: grant.id,
      scopes: grant.scopes,
      appCodes: grant.appCodes,
      rateLimitPerMinute: grant.rateLimitPerMinute,
      maxConcurrentRuns: grant.maxConcurrentRuns,
    };
  }

  /** Index of the API_KEYS entry equal to `token` (-1: none), compared in constant time against every entry. */
  private envKeyIndex(token: string): number {
    const candidate = createHash('sha256').update(token, 'utf8').digest();
    let found = -1;
    this.envDigests.forEach((digest, i) => {
      if (timingSafeEqual(candidate, digest) && found < 0) found = i;
    });
    return found;
  }

  private async flushUsage(): Promise<void> {
    if (this.used.size === 0) return;
    const ids = [...this.used];
    this.used.clear();
    try {
      await this.repo.touch(ids, new Date());
    } catch (e) {
      this.logger.warn(`Could not record key use: ${(e as Error).message}`);
    }
  }
}
