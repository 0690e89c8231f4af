import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { AccessLog } from './logging';
import { MetricsService } from './metrics.service';
import { RequestLogContext, runInRequest } from './request-context';
import { REQUEST_ID_HEADER, requestIdFrom } from './request-id';
import { routeOf } from './route';

/**
 * The first middleware of every request, ahead of the body parser so that
 * even a rejected body (413, malformed JSON) gets a request id, an access-log
 * line and a metric: assigns and echoes the request id (the client's
 * `X-Request-Id` when sane), runs the rest of the request inside its
 * request context (`request-context.ts`: Nest's `Logger` then writes with
 * `reqId`), and once the response ends or the client goes away records
 * `http_requests_total` / `http_request_duration_seconds` with the route
 * pattern and writes the access-log line.
 */
export function requestObserver(root: Logger, accessLog: AccessLog, metrics: MetricsService): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = process.hrtime.bigint();
    const reqId = requestIdFrom(req.headers['x-request-id']);
    (req as Request & { id: string }).id = reqId;
    res.setHeader(REQUEST_ID_HEADER, reqId);
    let recorded = false;
    const record = () => {
      if (recorded) return;
      recorded = true;
      metrics.observeHttp(req.method, routeOf(req), res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
      accessLog.write(req, res, reqId, started, !res.writableFinished);
    };
    res.once('finish', record);
    res.once('close', record);
    runInRequest(new RequestLogContext(root, reqId), next);
  };
}
