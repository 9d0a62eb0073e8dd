/**
 * Certificates laid out on disk exactly as lego, acme.sh and dehydrated write them (docs/acme-clients.md; the
 * end-to-end suite makes the same layouts with the real programs). Each writer returns the paths the client would
 * hand to its hook.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Leaf } from './pki.js';

export interface ClientFiles {
  /** What the client calls the full chain (lego: the certificate file, leaf only with --no-bundle). */
  cert: string;
  key: string;
  /** lego's issuer file, acme.sh's ca.cer, dehydrated's chain.pem. */
  issuer: string;
  /** The leaf alone: acme.sh's DOMAIN.cer, dehydrated's cert.pem; lego has none. */
  leaf?: string;
  /** The certificate's own folder (acme.sh, dehydrated). */
  folder?: string;
}

function write(file: string, content: string, mode = 0o644): string {
  writeFileSync(file, content, { mode });
  return file;
}

/**
 * lego 4 and 5: `PATH/certificates/NAME.{crt,issuer.crt,key,json}`, NAME the first domain with `*` as `_`. The
 * `.crt` holds leaf and issuer unless `bundle` is false (--no-bundle). Returns the paths lego puts in
 * LEGO_CERT_PATH, LEGO_CERT_KEY_PATH and LEGO_ISSUER_CERT_PATH.
 */
export function writeLego(path: string, domain: string, leaf: Leaf, bundle = true): ClientFiles {
  const folder = join(path, 'certificates');
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  mkdirSync(join(path, 'accounts'), { recursive: true, mode: 0o700 });
  const name = domain.replaceAll('*', '_');
  const cert = write(join(folder, `${name}.crt`), bundle ? leaf.fullchainPem : leaf.certPem, 0o600);
  const issuer = write(join(folder, `${name}.issuer.crt`), leaf.chainPem, 0o600);
  const key = write(join(folder, `${name}.key`), leaf.keyPem, 0o600);
  write(
    join(folder, `${name}.json`),
    JSON.stringify({
      domain,
      certUrl: 'https://127.0.0.1/cert/1',
      certStableUrl: 'https://127.0.0.1/cert/1',
    }),
    0o600,
  );
  return { cert, key, issuer };
}

/**
 * acme.sh: `HOME/DOMAIN/` for an RSA key, `HOME/DOMAIN_ecc/` for ECDSA (the wildcard's `*` kept), holding
 * `DOMAIN.cer`, `ca.cer`, `fullchain.cer`, `DOMAIN.key`, `DOMAIN.conf`, `DOMAIN.csr`, `DOMAIN.csr.conf`. The home
 * also holds acme.sh's own files and folders. Returns CERT_FULLCHAIN_PATH, CERT_KEY_PATH and CA_CERT_PATH.
 */
export function writeAcmeSh(home: string, domain: string, leaf: Leaf, ecc: boolean): ClientFiles {
  for (const own of ['deploy', 'dnsapi', 'notify', join('ca', 'acme-v02.api.letsencrypt.org', 'directory')]) {
    mkdirSync(join(home, own), { recursive: true });
  }
  write(join(home, 'deploy', 'incap_cert.sh'), 'incap_cert_deploy() { return 0; }\n');
  write(join(home, 'dnsapi', 'dns_cf.sh'), 'dns_cf_add() { return 0; }\n');
  write(join(home, 'ca', 'acme-v02.api.letsencrypt.org', 'directory', 'account.key'), leaf.keyPem, 0o600);
  write(join(home, 'account.conf'), "LOG_FILE='/root/.acme.sh/acme.sh.log'\n");
  write(join(home, 'http.header'), 'HTTP/1.1 200 OK\n');
  write(join(home, 'acme.sh'), '#!/usr/bin/env sh\n', 0o755);
  const folder = join(home, ecc ? `${domain}_ecc` : domain);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  write(join(folder, `${domain}.conf`), `Le_Domain='${domain}'\nLe_Keylength='${ecc ? 'ec-256' : '2048'}'\n`);
  write(
    join(folder, `${domain}.csr`),
    '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n',
  );
  write(join(folder, `${domain}.csr.conf`), '[ req_distinguished_name ]\n');
  const leafFile = write(join(folder, `${domain}.cer`), leaf.certPem);
  const issuer = write(join(folder, 'ca.cer'), leaf.chainPem);
  const cert = write(join(folder, 'fullchain.cer'), leaf.fullchainPem);
  const key = write(join(folder, `${domain}.key`), leaf.keyPem, 0o600);
  return { cert, key, issuer, leaf: leafFile, folder };
}

/**
 * dehydrated: `BASEDIR/certs/NAME/{cert,chain,fullchain,privkey}-TIMESTAMP.pem` and `cert-TIMESTAMP.csr`, with
 * `cert.pem`, `chain.pem`, `fullchain.pem`, `privkey.pem` and `cert.csr` relative symlinks to the newest. Calling
 * it again with a later timestamp renews. Returns what dehydrated passes to deploy_cert.
 */
export function writeDehydrated(baseDir: string, name: string, leaf: Leaf, timestamp: number): ClientFiles {
  const folder = join(baseDir, 'certs', name);
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  mkdirSync(join(baseDir, 'accounts'), { recursive: true });
  mkdirSync(join(baseDir, 'chains'), { recursive: true });
  const versions: Record<string, string> = {
    'cert.pem': leaf.certPem,
    'chain.pem': leaf.chainPem,
    'fullchain.pem': leaf.fullchainPem,
    'privkey.pem': leaf.keyPem,
    'cert.csr': '-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n',
  };
  for (const [link, content] of Object.entries(versions)) {
    const [stem, ext] = link.split('.') as [string, string];
    const versioned = `${stem}-${timestamp}.${ext}`;
    write(join(folder, versioned), content, stem === 'privkey' ? 0o600 : 0o644);
    rmSync(join(folder, link), { force: true });
    symlinkSync(versioned, join(folder, link));
  }
  return {
    cert: join(folder, 'fullchain.pem'),
    key: join(folder, 'privkey.pem'),
    issuer: join(folder, 'chain.pem'),
    leaf: join(folder, 'cert.pem'),
    folder,
  };
}
