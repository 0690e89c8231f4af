import { randomUUID } from 'node:crypto';

/** The header a request id is read from and echoed in. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** Ids a client may choose: 1–128 URL-safe characters (UUIDs, ULIDs, trace ids, base64). */
const SANE_REQUEST_ID = /^[A-Za-z0-9._~:/+=@-]{1,128}$/;

/**
 * The request id of a request: the client's `X-Request-Id` when present and
 * sane (so a gateway's id follows the request through the logs), else a new
 * UUID. Anything else (too long, spaces, control characters, several values)
 * is replaced, never echoed, so it cannot forge log lines or headers.
 */
export function requestIdFrom(header: string | string[] | undefined): string {
  return typeof header === 'string' && SANE_REQUEST_ID.test(header) ? header : randomUUID();
}
