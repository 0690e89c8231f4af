export {
  AccessLog,
  accessLevel,
  createRootLogger,
  LoggingOptions,
  PROMPT_PATHS,
  promptForLog,
  REDACTED,
  SECRET_PATHS,
} from './logging';
export { MetricsModule } from './metrics.module';
export {
  LlmCallOutcome,
  LlmCallTimer,
  MetricsService,
  RunOutcome,
  RunTimer,
  TokenUsage,
  UNMATCHED_ROUTE,
} from './metrics.service';
export { ACCESS_LOG, ObservabilityModule, ROOT_LOGGER } from './observability.module';
export { requestObserver } from './request-observer';
export { routeOf } from './route';
export { REQUEST_ID_HEADER, requestIdFrom } from './request-id';
export { TypeOrmLogger } from './typeorm-logger';
