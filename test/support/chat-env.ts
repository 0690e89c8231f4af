import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { FakeOpenAI, startFakeOpenAI } from './fake-openai';
import { AUTH, startTestServer, TestServer } from './server';

export const FAKE_KEY_ENV = 'ENSEMBLE_TEST_FAKE_OPENAI_KEY';
export const FAKE_KEY = 'sk-fake-upstream-key';

export interface ChatEnv {
  server: TestServer;
  /** The configuration the server was started with (for a second replica). */
  env: Record<string, string>;
  fake: FakeOpenAI;
  /** A second upstream, listed as the fallback model `backup-gpt`. */
  backup: FakeOpenAI;
  close(): Promise<void>;
}

/**
 * The server with a models file pointing at two local fake OpenAI-compatible
 * upstreams: `fake-gpt` (the default) and `backup-gpt`.
 */
export async function startChatEnv(env: Record<string, string> = {}): Promise<ChatEnv> {
  process.env[FAKE_KEY_ENV] = FAKE_KEY;
  const fake = await startFakeOpenAI({ apiKey: FAKE_KEY });
  const backup = await startFakeOpenAI({ apiKey: FAKE_KEY });
  const dir = mkdtempSync(join(tmpdir(), 'ensemble-models-'));
  const modelsFile = join(dir, 'models.json');
  writeFileSync(
    modelsFile,
    JSON.stringify({
      default: 'fake-gpt',
      models: [
        { name: 'fake-gpt', provider: 'openai', model: 'gpt-4o-mini', base_url: fake.url, api_key_env: FAKE_KEY_ENV },
        { name: 'backup-gpt', provider: 'openai', model: 'gpt-4o', base_url: backup.url, api_key_env: FAKE_KEY_ENV },
      ],
    }),
  );
  const serverEnv = { MODELS_FILE: modelsFile, ...env };
  const server = await startTestServer(serverEnv);
  return {
    server,
    env: serverEnv,
    fake,
    backup,
    async close() {
      await server.close();
      await fake.close();
      await backup.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body exactly as received. */
  body: string;
}

/** POSTs JSON over a plain socket and returns the exact bytes of the body. */
export function rawPost(
  origin: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = AUTH,
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${origin}${path}`,
      { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The `data:` payloads of an SSE body, as a DB-GPT client reads them (stopping at [DONE]). */
export function dataLines(body: string): string[] {
  const out: string[] = [];
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: ')) continue;
    const payload = line.slice(6);
    if (payload === '[DONE]') break;
    out.push(payload);
  }
  return out;
}

/** Content of every chunk, in order. */
export function contents(body: string): string[] {
  return dataLines(body)
    .map((l) => JSON.parse(l) as { choices?: { delta?: { content?: string } }[] })
    .map((c) => c.choices?.[0]?.delta?.content)
    .filter((c): c is string => typeof c === 'string');
}

export interface OpenStream {
  /** Resolves once the response's status line and headers have arrived. */
  responded: Promise<void>;
  /** Resolves once the first chunk with content has arrived. */
  firstContent: Promise<void>;
  /** Resolves with the whole response when it ends (rejects if the connection fails). */
  done: Promise<RawResponse>;
  /** Closes the connection from the client side. */
  hangUp(): void;
}

/** POSTs JSON like `rawPost`, and lets the test act while the answer streams. */
export function streamPost(
  origin: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = AUTH,
): OpenStream {
  let arrived!: () => void;
  let hungUp = false;
  const firstContent = new Promise<void>((r) => (arrived = r));
  let answered!: () => void;
  const responded = new Promise<void>((r) => (answered = r));
  const req = httpRequest(`${origin}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
  });
  const done = new Promise<RawResponse>((resolve, reject) => {
    req.on('response', (res) => {
      answered();
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        data += c;
        if (data.includes('"content":')) arrived();
      });
      const received = () => ({ status: res.statusCode ?? 0, headers: res.headers, body: data });
      res.on('end', () => resolve(received()));
      // After a hang-up: what had arrived.
      res.on('error', (e) => (hungUp ? resolve(received()) : reject(e)));
    });
    req.on('error', (e) => (hungUp ? resolve({ status: 0, headers: {}, body: '' }) : reject(e)));
  });
  req.end(JSON.stringify(body));
  return {
    responded,
    firstContent,
    done,
    hangUp: () => {
      hungUp = true;
      req.destroy();
    },
  };
}
