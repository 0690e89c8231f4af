/**
 * Checks shared by the operator's JSON files (the models file here, the
 * tools file in the server): each problem is reported as a line naming its
 * place, so a file's every mistake is listed at once.
 */

import { readFileSync } from 'node:fs';

/** The environment a file's `*_env` entries are read from. */
export type Env = Record<string, string | undefined>;

/** An environment variable name. */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An HTTP header name (an RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** True for an absolute http:// or https:// URL. */
export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * The parsed JSON of the operator's file at `path`. A file that cannot be
 * read, or is not JSON, throws the error `invalid` makes of that one problem.
 */
export function readJsonFile(path: string, invalid: (problems: string[]) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw invalid([`cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw invalid([`not valid JSON (${(err as Error).message})`]);
  }
}
