/** A small forward proxy on 127.0.0.1 that records what passes: absolute-form HTTP requests, and CONNECT tunnels. */
import { createServer, request as httpRequest, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface Passed {
  method: string;
  /** The absolute URL (HTTP) or host:port (CONNECT). */
  target: string;
  /** Whether the client sent Proxy-Authorization (the proxy's own credentials). */
  authorized: boolean;
}

export class RecordingProxy {
  readonly passed: Passed[] = [];
  /** Answer every request and tunnel with 407 Proxy Authentication Required (wrong proxy credentials). */
  refuseAuthentication = false;
  private readonly sockets = new Set<Socket>();
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<RecordingProxy> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new RecordingProxy(server, (server.address() as AddressInfo).port);
    server.on('connection', (socket) => {
      proxy.sockets.add(socket);
      socket.on('close', () => proxy.sockets.delete(socket));
    });
    server.on('request', (req, res) => {
      proxy.passed.push({
        method: req.method ?? '',
        target: req.url ?? '',
        authorized: req.headers['proxy-authorization'] !== undefined,
      });
      if (proxy.refuseAuthentication) {
        res.writeHead(407, { 'proxy-authenticate': 'Basic realm="proxy"' });
        res.end();
        return;
      }
      const headers = { ...req.headers };
      delete headers['proxy-authorization'];
      delete headers['proxy-connection'];
      const upstream = httpRequest(req.url ?? '', { method: req.method, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    server.on('connect', (req, client: Socket, head: Buffer) => {
      proxy.passed.push({
        method: 'CONNECT',
        target: req.url ?? '',
        authorized: req.headers['proxy-authorization'] !== undefined,
      });
      if (proxy.refuseAuthentication) {
        client.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="proxy"\r\n\r\n',
        );
        return;
      }
      const [host, port] = (req.url ?? '').split(':');
      const upstream = connect(Number(port), host ?? '127.0.0.1', () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    return proxy;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
