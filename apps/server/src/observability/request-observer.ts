import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { storage, Store } from 'nestjs-pino/storage';
import type { HttpLogger } from 'pino-http';
import { MetricsService } from './metrics.service';
import { routeOf } from './route';

/**
 * The first middleware of every request, ahead of the body parser so that
 * even a rejected body (413, malformed JSON) gets a request id, an access-log
 * line and a metric: assigns and echoes the request id, runs the rest of the
 * request inside the pino request context (nestjs-pino's `Logger` and
 * `PinoLogger` then write through the request's child logger, with `reqId`),
 * and records `http_requests_total` / `http_request_duration_seconds` with
 * the route pattern once the response ends or the client goes away.
 */
export function requestObserver(httpLogger: HttpLogger, metrics: MetricsService): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    httpLogger(req, res);
    let recorded = false;
    const record = () => {
      if (recorded) return;
      recorded = true;
      metrics.observeHttp(req.method, routeOf(req), res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    };
    res.once('finish', record);
    res.once('close', record);
    storage.run(new Store(req.log), next);
  };
}
