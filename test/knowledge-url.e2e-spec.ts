import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { expectDualError } from './support/expect-error';
import { createSpace, KNOWLEDGE, syncAndWait } from './support/knowledge';
import { makePdf } from './support/pdf';
import { AUTH, startTestServer, TestServer } from './support/server';

const MAX_FILE = 5_000;

describe('URL documents (real Postgres, a local web server)', () => {
  let site: Server;
  let port: number;
  let server: TestServer;
  let closed: TestServer;
  let byName: TestServer;
  let spaceId: number;

  const addUrl = (target: TestServer, url: string, space = spaceId, docName?: string) =>
    request(target.origin)
      .post(`${KNOWLEDGE}/documents`)
      .set(AUTH)
      .field('doc_type', 'URL')
      .field('space_id', String(space))
      .field('content', url)
      .field('doc_name', docName ?? '');

  beforeAll(async () => {
    site = createServer((req, res) => {
      const send = (status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': type, ...headers });
        res.end(body);
      };
      switch (req.url) {
        case '/guide/page.html':
          return send(
            200,
            'text/html; charset=utf-8',
            '<html><body><h1>Lighthouses</h1><p>The keeper trims the lamp wick at dusk.</p></body></html>',
          );
        case '/report':
          return send(200, 'application/pdf', makePdf([['Annual report', 'Tide gauges were recalibrated in March.']]));
        case '/moved':
          return send(302, 'text/plain', '', { location: '/guide/page.html' });
        case '/away':
          return send(302, 'text/plain', '', { location: `http://localhost:${port}/guide/page.html` });
        case '/loop':
          return send(302, 'text/plain', '', { location: '/loop' });
        case '/big':
          return send(200, 'text/plain', 'x'.repeat(MAX_FILE + 1));
        case '/big-chunked':
          res.writeHead(200, { 'content-type': 'text/plain' });
          for (let i = 0; i < 10; i++) res.write('y'.repeat(MAX_FILE / 5));
          return res.end();
        case '/slow':
          return; // never answers
        case '/tool':
          return send(200, 'application/octet-stream', Buffer.from([0x4d, 0x5a, 0, 0]));
        default:
          return send(404, 'text/plain', 'not here');
      }
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    port = (site.address() as AddressInfo).port;
    const env = { KNOWLEDGE_MAX_FILE_SIZE: String(MAX_FILE), KNOWLEDGE_URL_TIMEOUT_MS: '500' };
    server = await startTestServer({ ...env, KNOWLEDGE_URL_ALLOWLIST: `127.0.0.1:${port}, *.example.invalid` });
    closed = await startTestServer(env);
    byName = await startTestServer({ ...env, KNOWLEDGE_URL_ALLOWLIST: `localhost:${port}` });
    spaceId = (await createSpace(request(server.origin), 'web')).id;
  });
  afterAll(async () => {
    await Promise.all([server.close(), closed.close(), byName.close()]);
    site.closeAllConnections();
    await new Promise((resolve) => site.close(resolve));
  });

  it('fetches a page of an allowed host (following a redirect on it), parses it by its media type and indexes it', async () => {
    const url = `http://127.0.0.1:${port}/moved`;
    const res = await addUrl(server, url, spaceId, 'lighthouse guide');
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      doc_name: 'lighthouse guide',
      doc_type: 'URL',
      content: `http://127.0.0.1:${port}/guide/page.html`,
      format: 'html',
      status: 'TODO',
    });
    expect(await syncAndWait(request(server.origin), res.body.data.id, spaceId)).toMatchObject({ status: 'FINISHED' });
    const hits = await request(server.origin)
      .post(`${KNOWLEDGE}/spaces/${spaceId}/retrieve`)
      .set(AUTH)
      .send({ query: 'lamp wick keeper', top_k: 1 });
    expect(hits.body.data[0].content).toBe('# Lighthouses\n\nThe keeper trims the lamp wick at dusk.');

    const pdf = await addUrl(server, `http://127.0.0.1:${port}/report`);
    expect(pdf.status).toBe(201);
    expect(pdf.body.data).toMatchObject({ doc_name: `http://127.0.0.1:${port}/report`, format: 'pdf' });
  });

  it('refuses URL documents when no host is allowed (the default)', async () => {
    const space = await createSpace(request(closed.origin), 'closed');
    const res = await addUrl(closed, `http://127.0.0.1:${port}/guide/page.html`, space.id);
    expectDualError(res, 400, 'validation_error', 'doc_type');
    expect(res.body.err_msg).toContain('KNOWLEDGE_URL_ALLOWLIST');
  });

  it('refuses hosts, ports, schemes and redirects outside the allow-list, and private addresses reached by name', async () => {
    const refused = async (target: TestServer, url: string, code: string, says: string) => {
      const res = await addUrl(target, url, target === server ? spaceId : byNameSpace);
      expectDualError(res, 400, code, 'content');
      expect(res.body.err_msg).toContain(says);
    };
    const byNameSpace = (await createSpace(request(byName.origin), 'by-name')).id;
    await refused(
      server,
      `http://127.0.0.2:${port}/guide/page.html`,
      'url_not_allowed',
      'not in KNOWLEDGE_URL_ALLOWLIST',
    );
    await refused(server, `http://127.0.0.1:${port + 1}/x`, 'url_not_allowed', 'not in KNOWLEDGE_URL_ALLOWLIST');
    await refused(server, `file:///etc/passwd`, 'url_not_allowed', 'http and https only');
    await refused(server, `http://user:pw@127.0.0.1:${port}/x`, 'url_not_allowed', 'credentials');
    await refused(server, `http://127.0.0.1:${port}/away`, 'url_not_allowed', `localhost:${port} is not in`);
    await refused(server, 'not a url', 'url_fetch_failed', 'is not a URL');
    // A name (here localhost) that resolves to a loopback or private address is refused; only the address itself may be listed.
    await refused(
      byName,
      `http://localhost:${port}/guide/page.html`,
      'url_not_allowed',
      'resolves to a private address',
    );
  });

  it('names a failed fetch: an error status, a redirect loop, a timeout, a file too large, an unknown type', async () => {
    const failed = async (path: string, status: number, code: string, says: string) => {
      const res = await addUrl(server, `http://127.0.0.1:${port}${path}`);
      expectDualError(res, status, code, 'content');
      expect(res.body.err_msg).toContain(says);
    };
    await failed('/missing', 400, 'url_fetch_failed', 'answered HTTP 404');
    await failed('/loop', 400, 'url_fetch_failed', 'redirects more than 5 times');
    await failed('/slow', 400, 'url_fetch_failed', 'did not answer within 500 ms');
    await failed('/big', 413, 'payload_too_large', 'KNOWLEDGE_MAX_FILE_SIZE');
    await failed('/big-chunked', 413, 'payload_too_large', 'KNOWLEDGE_MAX_FILE_SIZE');
    const tool = await addUrl(server, `http://127.0.0.1:${port}/tool`);
    expectDualError(tool, 415, 'unsupported_document_type', 'content');
    expect(tool.body.err_msg).toContain('application/octet-stream');
  });
});
