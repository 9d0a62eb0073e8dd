/**
 * Let's Encrypt's test ACME server, Debian's `pebble`, on 127.0.0.1 with a TLS certificate made here. Challenges
 * always validate and nothing sleeps (PEBBLE_VA_ALWAYS_VALID, PEBBLE_VA_NOSLEEP); no nonce is rejected at random
 * (PEBBLE_WFE_NONCEREJECT=0), so that a run is repeatable.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createPki, issueLeaf } from './pki.js';

export interface Pebble {
  directory: string;
  /** The CA that signed pebble's own TLS certificate: what the clients must trust. */
  caFile: string;
  /** The port ACME clients' http-01 servers listen on (pebble never calls it: challenges always validate). */
  httpPort: number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startPebble(dir: string): Promise<Pebble> {
  const pki = await createPki();
  const tls = await issueLeaf(pki, { names: ['localhost'], ips: ['127.0.0.1'] });
  const caFile = join(dir, 'pebble-ca.pem');
  writeFileSync(caFile, pki.rootPem);
  writeFileSync(join(dir, 'pebble-cert.pem'), tls.fullchainPem);
  writeFileSync(join(dir, 'pebble-key.pem'), tls.keyPem);
  const [port, management, httpPort, tlsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  writeFileSync(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${management}`,
        certificate: join(dir, 'pebble-cert.pem'),
        privateKey: join(dir, 'pebble-key.pem'),
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const child: ChildProcess = spawn('pebble', ['-config', join(dir, 'pebble.json')], {
    env: { ...process.env, PEBBLE_VA_ALWAYS_VALID: '1', PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const directory = `https://127.0.0.1:${port}/dir`;
  const deadline = Date.now() + 15_000;
  while (!(await answers(directory, pki.rootPem))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`pebble did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    directory,
    caFile,
    httpPort,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    },
  };
}

function answers(url: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get(url, { ca }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.setTimeout(2000, () => request.destroy());
  });
}
