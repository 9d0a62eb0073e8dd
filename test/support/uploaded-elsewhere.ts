/**
 * What another host or tool put at Imperva: an upload made straight to the fake API (test/support/fake-imperva.ts),
 * as anything else holding the account's key would make it, without incap-cert.
 */
import assert from 'node:assert/strict';
import type { AuthType, FakeImperva } from './fake-imperva.js';
import type { Leaf } from './pki.js';
import { API_ID } from './world.js';

export async function uploadedElsewhere(
  to: { fake: FakeImperva; apiKey: string },
  siteId: string,
  leaf: Leaf,
  authType: AuthType,
  /** `inputHash`: send the leaf's SHA-256 as `input_hash`, as incap-cert does. */
  options: { inputHash?: boolean } = {},
): Promise<void> {
  const response = await fetch(`${to.fake.url}/api/prov/v1/sites/customCertificate/upload`, {
    method: 'POST',
    headers: {
      'x-API-Id': API_ID,
      'x-API-Key': to.apiKey,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      site_id: siteId,
      certificate: Buffer.from(leaf.fullchainPem).toString('base64'),
      private_key: Buffer.from(leaf.keyPem).toString('base64'),
      auth_type: authType,
      ...(options.inputHash === true ? { input_hash: leaf.fingerprint } : {}),
    }),
  });
  const body = (await response.json()) as { res: number };
  assert.equal(body.res, 0, `upload of ${authType} to ${siteId}`);
}
