import 'reflect-metadata';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RequestMethod } from '@nestjs/common';
import { CONTROLLER_WATERMARK, INTERCEPTORS_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import { AuditInterceptor, isAdminChange } from './audit.interceptor';

type Handler = (...args: never[]) => unknown;
type ControllerClass = abstract new (...args: never[]) => unknown;

/** Every controller class of the server, found by file name so a new one cannot be missed. */
async function controllers(): Promise<ControllerClass[]> {
  const root = join(__dirname, '..');
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.controller.ts'));
  const modules = await Promise.all(files.map((f) => import(join(root, f)) as Promise<Record<string, unknown>>));
  return modules.flatMap((m) =>
    Object.values(m).filter(
      (v): v is ControllerClass => typeof v === 'function' && Reflect.getMetadata(CONTROLLER_WATERMARK, v) === true,
    ),
  );
}

interface Route {
  controller: ControllerClass;
  name: string;
  handler: Handler;
  method: string;
}

describe('AuditInterceptor coverage', () => {
  const reflector = new Reflector();
  let routes: Route[] = [];
  beforeAll(async () => {
    routes = (await controllers()).flatMap((controller) =>
      Object.getOwnPropertyNames(controller.prototype).flatMap((name) => {
        const handler = (controller.prototype as Record<string, unknown>)[name] as Handler;
        const method = typeof handler === 'function' ? Reflect.getMetadata(METHOD_METADATA, handler) : undefined;
        return method === undefined ? [] : [{ controller, name, handler, method: RequestMethod[method as number] }];
      }),
    );
  });
  const carries = (target: object) =>
    ((Reflect.getMetadata(INTERCEPTORS_METADATA, target) as unknown[] | undefined) ?? []).includes(AuditInterceptor);

  it('finds the admin change routes', () => {
    const admin = routes.filter((r) => isAdminChange(reflector, r.method, [r.handler, r.controller]));
    expect(admin.map((r) => `${r.controller.name}.${r.name}`)).toEqual(
      expect.arrayContaining(['AppsController.create', 'KeysController.create']),
    );
  });

  it('is not on the chat routes (a held stream keeps no interceptor pipeline)', () => {
    const chat = routes.filter((r) => r.controller.name === 'ChatController');
    expect(chat.length).toBeGreaterThan(0);
    expect(chat.filter((r) => carries(r.controller) || carries(r.handler))).toEqual([]);
  });

  it('is carried by every admin change route', () => {
    const missing = routes
      .filter((r) => isAdminChange(reflector, r.method, [r.handler, r.controller]))
      .filter((r) => !carries(r.controller) && !carries(r.handler))
      .map((r) => `${r.controller.name}.${r.name}`);
    expect(missing).toEqual([]);
  });
});
