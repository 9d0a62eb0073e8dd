/**
 * The fake Imperva API's additions for issue 10 answer in Imperva's shapes: v3 certificates per site and account-wide
 * (and their failures), remove, account/verify, `dns` in sites/status, and the echo mode for secret-scan tests.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FakeImperva, type AuthType } from '../support/fake-imperva.js';
import { newApiKey } from '../support/harness.js';
import { createPki, issueLeaf, type Leaf } from '../support/pki.js';
import { assertNoSecrets, secretsOf } from '../support/world.js';

const API_ID = '4242';
const apiKey = newApiKey();
let fake: FakeImperva;
let rsa: Leaf;
let ecc: Leaf;

before(async () => {
  const pki = await createPki();
  [rsa, ecc] = await Promise.all([
    issueLeaf(pki, { names: ['www.example.com'], keyType: 'rsa' }),
    issueLeaf(pki, { names: ['www.example.com'], keyType: 'ec' }),
  ]);
  fake = await FakeImperva.start({
    apiId: API_ID,
    apiKey,
    sites: { '1001': 'www.example.com', '1002': 'example.net', '1003': 'shop.example.org' },
    account: { id: 777, name: 'Example Ltd', planName: 'ENTERPRISE' },
  });
});
after(() => fake.close());
beforeEach(() => {
  for (const site of fake.sites.values()) site.served = {};
  fake.v3 = 'ok';
  fake.v3AccountWide = 'ok';
  fake.v3Format = 'openssl';
  fake.disabledKey = false;
  fake.echoSecrets = false;
});

const auth = { 'x-API-Id': API_ID, 'x-API-Key': apiKey };

async function v1(endpoint: string, form: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const response = await fetch(`${fake.url}/api/prov/v1/${endpoint}`, {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return (await response.json()) as Record<string, unknown>;
}

async function upload(siteId: string, leaf: Leaf, authType: AuthType): Promise<Record<string, unknown>> {
  return v1('sites/customCertificate/upload', {
    site_id: siteId,
    certificate: Buffer.from(leaf.fullchainPem).toString('base64'),
    private_key: Buffer.from(leaf.keyPem).toString('base64'),
    auth_type: authType,
    input_hash: leaf.fingerprint,
  });
}

async function v3(
  query: string,
  headers: Record<string, string> = auth,
): Promise<{ status: number; body: string }> {
  const response = await fetch(`${fake.url}/certificates-ui/v3/certificates${query}`, { headers });
  return { status: response.status, body: await response.text() };
}

interface V3Entry {
  authType: string;
  type?: string;
  status: string;
  expirationDate: number;
  extSiteId: number;
  customCertificateDetails?: { fingerprint: string; serialNumber: string; inputHash: string };
}

function sha1Of(leaf: Leaf): string {
  return new X509Certificate(leaf.certPem).fingerprint;
}

describe('fake Imperva: v3 certificates', () => {
  it('lists one entry per key type the site holds, in the documented shape', async () => {
    await upload('1001', rsa, 'RSA');
    await upload('1001', ecc, 'ECC');
    const { status, body } = await v3('?extSiteId=1001&certType=CUSTOM_CERT');
    assert.equal(status, 200);
    const { data } = JSON.parse(body) as { data: V3Entry[] };
    assert.deepEqual(
      data.map((entry) => entry.authType),
      ['RSA', 'ECC'],
    );
    for (const [entry, leaf] of [
      [data[0], rsa],
      [data[1], ecc],
    ] as const) {
      assert.equal(entry?.type, 'CUSTOM_CERT');
      assert.equal(entry?.status, 'ACTIVE');
      assert.equal(entry?.extSiteId, 1001);
      assert.equal(entry?.expirationDate, leaf.notAfter.getTime());
      const details = entry?.customCertificateDetails;
      assert.equal(details?.inputHash, leaf.fingerprint);
      assert.equal(details?.fingerprint, `SHA1 Fingerprint=${sha1Of(leaf)}`);
      assert.match(details?.serialNumber ?? '', /^[0-9A-F]{2}(:[0-9A-F]{2})+$/);
    }
    const request = fake.requestsTo('certificates').at(-1);
    assert.equal(request?.siteId, '1001');
    assert.equal(request?.status, 200);
    assert.deepEqual(request?.query, { extSiteId: '1001', certType: 'CUSTOM_CERT' });
  });

  it("'plain' format: lowercase hex without prefix or colons", async () => {
    fake.v3Format = 'plain';
    await upload('1001', ecc, 'ECC');
    const { data } = JSON.parse((await v3('?extSiteId=1001&certType=CUSTOM_CERT')).body) as {
      data: V3Entry[];
    };
    assert.equal(
      data[0]?.customCertificateDetails?.fingerprint,
      sha1Of(ecc).replaceAll(':', '').toLowerCase(),
    );
    assert.match(data[0]?.customCertificateDetails?.serialNumber ?? '', /^[0-9a-f]+$/);
  });

  it('account-wide: every site, each entry with its extSiteId; unfiltered it adds managed certificates', async () => {
    await upload('1001', rsa, 'RSA');
    await upload('1003', ecc, 'ECC');
    const custom = JSON.parse((await v3('?certType=CUSTOM_CERT')).body) as { data: V3Entry[] };
    assert.deepEqual(
      custom.data.map((entry) => [entry.extSiteId, entry.authType]),
      [
        [1001, 'RSA'],
        [1003, 'ECC'],
      ],
    );
    const all = JSON.parse((await v3('')).body) as { data: V3Entry[] };
    const managed = all.data.filter((entry) => entry.customCertificateDetails === undefined);
    assert.equal(managed.length, 3);
    assert.equal(fake.requestsTo('certificates').at(-1)?.siteId, undefined);
  });

  for (const status of [401, 403, 404] as const) {
    it(`answers ${status} with a v3 errors body when told to`, async () => {
      fake.v3 = status;
      const reply = await v3('?extSiteId=1001&certType=CUSTOM_CERT');
      assert.equal(reply.status, status);
      const { errors } = JSON.parse(reply.body) as {
        errors: { status: number; title: string; detail: string }[];
      };
      assert.equal(errors[0]?.status, status);
      assert.equal(typeof errors[0]?.title, 'string');
    });
  }

  it("'absent': a 404 HTML page, no JSON", async () => {
    fake.v3 = 'absent';
    const reply = await v3('?extSiteId=1001&certType=CUSTOM_CERT');
    assert.equal(reply.status, 404);
    assert.match(reply.body, /^<html>/);
  });

  it('account-wide unavailable while per-site works', async () => {
    fake.v3AccountWide = 403;
    assert.equal((await v3('?certType=CUSTOM_CERT')).status, 403);
    assert.equal((await v3('?extSiteId=1001&certType=CUSTOM_CERT')).status, 200);
  });

  it('wrong credentials: 401; unknown site: 404; both with errors bodies', async () => {
    const wrong = await v3('?extSiteId=1001', { 'x-API-Id': API_ID, 'x-API-Key': 'nope' });
    assert.equal(wrong.status, 401);
    assert.ok((JSON.parse(wrong.body) as { errors?: unknown }).errors);
    const unknown = await v3('?extSiteId=999');
    assert.equal(unknown.status, 404);
    assert.ok((JSON.parse(unknown.body) as { errors?: unknown }).errors);
  });

  it('also answers on the /certificates/v3/ prefix some clients use', async () => {
    const response = await fetch(`${fake.url}/certificates/v3/certificates?extSiteId=1001`, {
      headers: auth,
    });
    assert.equal(response.status, 200);
    assert.equal(fake.requestsTo('certificates').at(-1)?.path, '/certificates/v3/certificates');
  });
});

describe('fake Imperva: remove, account/verify, dns', () => {
  it('remove drops that key type only, answers res "0" as a string, and remembers', async () => {
    await upload('1001', rsa, 'RSA');
    await upload('1001', ecc, 'ECC');
    assert.deepEqual(await v1('sites/customCertificate/remove', { site_id: '1001', auth_type: 'ECC' }), {
      res: '0',
      res_message: 'OK',
    });
    assert.equal(fake.serving('1001', 'ECC'), undefined);
    assert.equal(fake.serving('1001', 'RSA')?.fingerprint, rsa.fingerprint);
    assert.equal(fake.sites.get('1001')?.lastType, 'RSA');
    const { data } = JSON.parse((await v3('?extSiteId=1001&certType=CUSTOM_CERT')).body) as {
      data: V3Entry[];
    };
    assert.deepEqual(
      data.map((entry) => entry.authType),
      ['RSA'],
    );
    const again = await v1('sites/customCertificate/remove', { site_id: '1001', auth_type: 'ECC' });
    assert.notEqual(Number(again.res), 0);
    assert.equal(fake.acceptedRemovals().length, 1);
    assert.deepEqual(fake.acceptedRemovals()[0]?.form, { site_id: '1001', auth_type: 'ECC' });
    assert.equal(
      (await v1('sites/customCertificate/remove', { site_id: '999', auth_type: 'RSA' })).res,
      9413,
    );
    assert.equal((await v1('sites/customCertificate/remove', { site_id: '1001', auth_type: 'DSA' })).res, 2);
  });

  it('account/verify names the account; a disabled key answers 9418 everywhere', async () => {
    const verified = await v1('account/verify');
    assert.equal(verified.res, 0);
    assert.equal(verified.account_id, 777);
    assert.equal(verified.account_name, 'Example Ltd');
    assert.equal(verified.plan_name, 'ENTERPRISE');
    fake.disabledKey = true;
    assert.equal((await v1('account/verify')).res, 9418);
    assert.equal((await v1('account/verify')).res_message, 'Disabled API Key');
    assert.equal((await upload('1001', rsa, 'RSA')).res, 9418);
    assert.equal((await v3('?extSiteId=1001')).status, 401);
    assert.deepEqual(
      fake.requestsTo('verify').map((request) => request.res),
      [0, 9418, 9418],
    );
  });

  it('sites/status carries dns: a CNAME to *.incapdns.net, set_data_to a string for some sites, a list for others', async () => {
    const dns = async (siteId: string) =>
      (await v1('sites/status', { site_id: siteId })).dns as {
        dns_record_name: string;
        set_type_to: string;
        set_data_to: unknown;
      }[];
    const www = await dns('1001');
    assert.deepEqual(www, [
      {
        dns_record_name: 'www.example.com',
        set_type_to: 'CNAME',
        set_data_to: fake.sites.get('1001')?.cname,
      },
    ]);
    assert.match(String(www[0]?.set_data_to), /^[a-z0-9]+\.x\.incapdns\.net$/);
    // An apex gets A records, its www the CNAME; this site's set_data_to are lists.
    const apex = await dns('1002');
    assert.equal(apex[0]?.set_type_to, 'A');
    assert.deepEqual(apex[1], {
      dns_record_name: 'www.example.net',
      set_type_to: 'CNAME',
      set_data_to: [fake.sites.get('1002')?.cname],
    });
  });

  it('echo mode: error answers repeat the API key and the start of the private key', async () => {
    fake.echoSecrets = true;
    const secrets = secretsOf(apiKey, rsa);
    const failed = await upload('999', rsa, 'RSA');
    assert.equal(failed.res, 9413);
    assert.ok(String(failed.res_message).includes(apiKey));
    assert.throws(
      () => assertNoSecrets({ answer: JSON.stringify(failed) }, secrets),
      /a secret appears in answer/,
    );
    // Successes stay clean; v3 errors echo too.
    const accepted = await upload('1001', rsa, 'RSA');
    assert.equal(accepted.res, 0);
    assert.doesNotThrow(() => assertNoSecrets({ ok: JSON.stringify(accepted) }, secrets));
    fake.v3 = 403;
    assert.ok((await v3('?extSiteId=1001')).body.includes(apiKey));
  });
});
