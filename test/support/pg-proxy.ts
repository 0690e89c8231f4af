/**
 * A TCP proxy between the server and Postgres that the test drives: pass
 * traffic through, refuse new connections (the database is down), cut every
 * open connection (a restart), or stall (accept and hold new connections,
 * stop forwarding on open ones: a frozen database or a network that drops
 * packets). Deterministic: each mode holds until the test changes it.
 */
import { AddressInfo, createConnection, createServer, Server, Socket } from 'node:net';

type Mode = 'pass' | 'refuse' | 'stall';

interface Pair {
  client: Socket;
  upstream?: Socket;
}

export class PgProxy {
  private mode: Mode = 'pass';
  private readonly pairs = new Set<Pair>();
  private readonly held: Socket[] = [];

  private constructor(
    private readonly server: Server,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<PgProxy> {
    const server = createServer();
    const proxy = new PgProxy(server, target);
    server.on('connection', (socket) => proxy.accept(socket));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `url` (a postgres:// URL) with its host and port replaced by the proxy's. */
  urlFor(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** The local ports of the proxy's connections to Postgres (`client_port` in pg_stat_activity). */
  upstreamPorts(): number[] {
    return [...this.pairs].flatMap((p) => (p.upstream?.localPort ? [p.upstream.localPort] : []));
  }

  /** New connections are closed at once, as by a database that is not listening. */
  refuse(): void {
    this.mode = 'refuse';
    for (const s of this.held.splice(0)) s.destroy();
  }

  /** Every open connection is cut (both sides), as by a database restart. */
  cut(): void {
    for (const p of [...this.pairs]) this.drop(p);
  }

  /** New connections are held unanswered; open ones stop forwarding in both directions. */
  stall(): void {
    this.mode = 'stall';
    for (const p of this.pairs) {
      p.client.pause();
      p.upstream?.pause();
    }
  }

  /** Back to passing traffic: held connections go through, stalled ones resume. */
  restore(): void {
    this.mode = 'pass';
    for (const p of this.pairs) {
      p.client.resume();
      p.upstream?.resume();
    }
    for (const s of this.held.splice(0)) this.connect(s);
  }

  async close(): Promise<void> {
    this.cut();
    for (const s of this.held.splice(0)) s.destroy();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }

  private accept(socket: Socket): void {
    socket.on('error', () => undefined);
    if (this.mode === 'refuse') return void socket.destroy();
    if (this.mode === 'stall') {
      this.held.push(socket);
      socket.pause();
      return;
    }
    this.connect(socket);
  }

  private connect(client: Socket): void {
    if (client.destroyed) return;
    const pair: Pair = { client };
    this.pairs.add(pair);
    const upstream = createConnection(this.target);
    pair.upstream = upstream;
    upstream.on('error', () => this.drop(pair));
    client.on('error', () => this.drop(pair));
    upstream.on('close', () => this.drop(pair));
    client.on('close', () => this.drop(pair));
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream?.destroy();
  }
}
