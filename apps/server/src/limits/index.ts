export { LimitSubject, limitSubject } from './limit-key';
export { LimitsModule } from './limits.module';
export { RATE_LIMIT_WINDOW_MS, RateLimitGuard } from './rate-limit.guard';
export { ReleaseRun, RunLimiter } from './run-limiter';
