import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Why a URL document could not be fetched. */
export class UrlDocumentError extends Error {
  constructor(
    readonly kind: 'not_allowed' | 'fetch_failed' | 'too_large',
    message: string,
  ) {
    super(message);
  }
}

/** One entry of the operator's allow-list: a host, `*.` and a domain (its subdomains), or an IP address; a port or any. */
interface HostRule {
  host: string;
  wildcard: boolean;
  port?: string;
}

export interface UrlFetchOptions {
  /** The allow-list entries (`KNOWLEDGE_URL_ALLOWLIST`), lower case. */
  allowlist: string[];
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** Longest the whole fetch (redirects included) may take. */
  timeoutMs: number;
}

export interface FetchedDocument {
  /** The URL the body came from (after redirects). */
  url: URL;
  bytes: Buffer;
  /** The response's media type, without parameters; '' when none. */
  contentType: string;
}

/** Redirects followed at most (each to an allowed host). */
const MAX_REDIRECTS = 5;

/**
 * Addresses a host name never leads to (loopback, private, link-local,
 * carrier-grade NAT, multicast, reserved, unique-local IPv6, …): only an
 * allow-list entry that is the address itself reaches them.
 */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 127],
  ['64:ff9b::', 96],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  PRIVATE.addSubnet(net, prefix, 'ipv6');

/** True for an address of `PRIVATE` (an IPv4-mapped IPv6 address is judged by its IPv4 address). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return isPrivateAddress(mapped);
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex) {
    const [high, low] = [parseInt(hex[1], 16), parseInt(hex[2], 16)];
    return isPrivateAddress(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  const family = isIP(address);
  if (family === 0) return false;
  return PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

function parseRule(entry: string): HostRule {
  const wildcard = entry.startsWith('*.');
  const rest = wildcard ? entry.slice(2) : entry;
  const colon = rest.lastIndexOf(':');
  return colon > 0 && isIP(rest) !== 6
    ? { host: rest.slice(0, colon), wildcard, port: rest.slice(colon + 1) }
    : { host: rest, wildcard };
}

/** The host of a URL as rules name it: lower case, IPv6 without brackets. */
function hostOf(url: URL): string {
  return url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

function portOf(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

function allowed(rules: HostRule[], url: URL): boolean {
  const host = hostOf(url);
  return rules.some(
    (r) =>
      (r.wildcard ? isIP(host) === 0 && host.endsWith(`.${r.host}`) : host === r.host) &&
      (r.port === undefined || r.port === portOf(url)),
  );
}

/**
 * Resolves a host name and refuses it when any of its addresses is private
 * (see `PRIVATE`); the connection then goes to the address checked, so a
 * second resolution cannot swap it.
 */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const blocked = addresses.find((a) => isPrivateAddress(a.address));
    if (blocked) {
      const e = Object.assign(new Error(`${hostname} resolves to a private address`), { code: 'EPRIVATE' });
      return callback(e, '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
};

/**
 * Fetches a URL document: only from allowed hosts (each redirect too, at
 * most `MAX_REDIRECTS`), never from a private address unless the allow-list
 * names that address, within `maxBytes` and `timeoutMs`.
 */
export async function fetchUrlDocument(raw: string, options: UrlFetchOptions): Promise<FetchedDocument> {
  const rules = options.allowlist.map(parseRule);
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new UrlDocumentError('fetch_failed', `${JSON.stringify(raw)} is not a URL.`);
  }
  const deadline = AbortSignal.timeout(options.timeoutMs);
  for (let redirects = 0; ; redirects++) {
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new UrlDocumentError('not_allowed', `${url.protocol} URLs are not fetched (http and https only).`);
    if (url.username || url.password)
      throw new UrlDocumentError('not_allowed', 'A URL with credentials in it is not fetched.');
    if (!allowed(rules, url))
      throw new UrlDocumentError('not_allowed', `The host ${url.host} is not in KNOWLEDGE_URL_ALLOWLIST.`);
    const res = await get(url, deadline, options.timeoutMs);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      if (redirects >= MAX_REDIRECTS)
        throw new UrlDocumentError('fetch_failed', `${url.href} redirects more than ${MAX_REDIRECTS} times.`);
      url = new URL(res.headers.location, url);
      continue;
    }
    if (status < 200 || status >= 300) {
      res.resume();
      throw new UrlDocumentError('fetch_failed', `${url.href} answered HTTP ${status}.`);
    }
    const bytes = await readLimited(res, url, options, deadline);
    const contentType = (res.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    return { url, bytes, contentType };
  }
}

function get(url: URL, signal: AbortSignal, timeoutMs: number): Promise<IncomingMessage> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: 'GET',
      signal,
      lookup: publicOnlyLookup,
      headers: { Accept: '*/*', 'User-Agent': 'Ensemble-knowledge' },
    });
    req.on('response', resolve);
    req.on('error', (e: Error & { code?: string }) => reject(failure(url, e, signal, timeoutMs)));
    req.end();
  });
}

function failure(url: URL, e: Error & { code?: string }, signal: AbortSignal, timeoutMs: number): UrlDocumentError {
  if (signal.aborted) return new UrlDocumentError('fetch_failed', `${url.href} did not answer within ${timeoutMs} ms.`);
  if (e.code === 'EPRIVATE')
    return new UrlDocumentError(
      'not_allowed',
      `${url.hostname} resolves to a private address; only an allow-list entry that is the address itself reaches one.`,
    );
  return new UrlDocumentError('fetch_failed', `${url.href} could not be fetched (${e.code ?? 'connection failed'}).`);
}

function readLimited(res: IncomingMessage, url: URL, options: UrlFetchOptions, signal: AbortSignal): Promise<Buffer> {
  const tooLarge = () =>
    new UrlDocumentError(
      'too_large',
      `${url.href} is larger than the limit of ${options.maxBytes} bytes (KNOWLEDGE_MAX_FILE_SIZE).`,
    );
  const declared = Number(res.headers['content-length']);
  if (Number.isFinite(declared) && declared > options.maxBytes) {
    res.destroy();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    res.on('data', (part: Buffer) => {
      size += part.length;
      if (size > options.maxBytes) {
        res.destroy();
        reject(tooLarge());
        return;
      }
      parts.push(part);
    });
    res.on('end', () => resolve(Buffer.concat(parts)));
    const cut = (cause?: string) =>
      reject(
        signal.aborted
          ? new UrlDocumentError('fetch_failed', `${url.href} did not answer within ${options.timeoutMs} ms.`)
          : new UrlDocumentError('fetch_failed', `${url.href} could not be read to its end (${cause ?? 'closed'}).`),
      );
    res.on('error', (e: Error & { code?: string }) => (size > options.maxBytes ? undefined : cut(e.code ?? e.name)));
    res.on('close', () => {
      if (!res.complete && size <= options.maxBytes) cut();
    });
  });
}
