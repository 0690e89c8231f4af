/**
 * Route inventories of a running server, for tests that must cover every
 * route (the auth sweep): what Express serves (`listRoutes`, from its router)
 * and what Nest declares (`listNestRoutes`, from controller metadata), plus a
 * raw HTTP probe that can send any method.
 */
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { request as httpRequest } from 'node:http';
import { API_PREFIX } from '../../apps/server/src/bootstrap';

export interface RouteRef {
  method: string;
  path: string;
}

export const routeKey = (r: RouteRef) => `${r.method} ${r.path}`;

const joinPath = (...parts: string[]) =>
  '/' +
  parts
    .flatMap((p) => p.split('/'))
    .filter((p) => p.length > 0)
    .join('/');

/**
 * Every route declared by a Nest controller of the application, as
 * `METHOD /api/...`, read from the decorators' metadata of every controller
 * of every module: an inventory independent of Express's router.
 */
export function listNestRoutes(app: NestExpressApplication): RouteRef[] {
  const routes: RouteRef[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const type = wrapper.metatype as (new (...args: never[]) => unknown) | undefined;
      if (!type) continue;
      const prefixes = ([] as string[]).concat(Reflect.getMetadata(PATH_METADATA, type) ?? '/');
      const names = new Set<string>();
      for (let proto = type.prototype; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
        for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor') names.add(name);
      }
      for (const name of names) {
        const handler = Object.getOwnPropertyDescriptor(findOwner(type.prototype, name), name)?.value as unknown;
        if (typeof handler !== 'function') continue;
        const paths = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (paths === undefined || method === undefined) continue;
        for (const prefix of prefixes) {
          for (const path of ([] as string[]).concat(paths)) {
            routes.push({ method: RequestMethod[method], path: joinPath(API_PREFIX, prefix, path) });
          }
        }
      }
    }
  }
  return routes;
}

function findOwner(proto: object, name: string): object {
  for (let p = proto; p; p = Object.getPrototypeOf(p)) if (Object.prototype.hasOwnProperty.call(p, name)) return p;
  return proto;
}

/** A concrete URL path for a route pattern: `:param` and `*splat` get a sample value, `{optional}` groups are kept. */
export function samplePath(pattern: string, value = 'probe-id'): string {
  return pattern.replace(/\*\w+/g, value).replace(/:\w+/g, value).replace(/[{}]/g, '');
}

export interface ProbeResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, when it is JSON. */
  json: unknown;
}

/** One raw HTTP request (any method, a JSON body for methods that take one). */
export function probe(
  origin: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<ProbeResponse> {
  const withBody = !['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT'].includes(method);
  const body = withBody ? '{}' : undefined;
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      new URL(path, origin),
      {
        method,
        headers: {
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
          ...headers,
        },
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 10 s`)));
    req.on('error', reject);
    req.end(body);
  });
}
