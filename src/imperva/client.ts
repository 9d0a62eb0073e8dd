import type { LookupFunction } from 'node:net';
import type { CertificateBundle, KeyType } from '../model/certificate.js';
import type { ApiCredentials } from '../config/load.js';
import { verifyAccount, type AccountInfo } from './account.js';
import { readKeyRecord, type KeyRecord } from './api-client.js';
import { listOwnCertificates, type OwnCertificate } from './own-certificates.js';
import { createCall, type CallOptions } from './call.js';
import { ClientError, detailsOf, withoutStack } from './errors.js';
import { createSend } from './http.js';
import { siteStatus, type SiteStatus } from './site-status.js';
import { remove, upload, type UploadResult } from './upload.js';
import { listCertificates, type CertificateEntry } from './v3-certificates.js';

/** What incap-cert asks of Imperva. */
export interface ImpervaClient {
  /** See upload.ts: `names` are the names mapped to the site, to name those a flagged certificate leaves out. */
  upload(siteId: string, bundle: CertificateBundle, names?: readonly string[]): Promise<UploadResult>;
  status(siteId: string): Promise<SiteStatus>;
  /**
   * The custom certificates (one per key type) from the v3 API: of one site, or of the whole account without
   * `siteId`. Throws a ClientError with code 'V3_UNAVAILABLE' when v3 is not configured, forbidden, absent or
   * keeps failing: fall back to `status` (v1).
   */
  certificates(siteId?: string): Promise<CertificateEntry[]>;
  /** Removes the site's custom certificate of one key type (v1 `sites/customCertificate/remove`). */
  remove(siteId: string, keyType: KeyType): Promise<{ resMessage: string }>;
  /** Proves the credentials with one call (v1 `account/verify`). */
  verifyAccount(): Promise<AccountInfo>;
  /** The API key's own record (api-client.ts): its expiry; not tracked when v3 is not configured. */
  keyRecord(): Promise<KeyRecord>;
  /** Imperva's own certificates, account-wide (own-certificates.ts); V3_UNAVAILABLE as `certificates`. */
  ownCertificates(): Promise<OwnCertificate[]>;
}

export interface ClientOptions extends CallOptions {
  /** The v3 API's base URL (`https://api.imperva.com`), without a trailing slash; without it v3 is unavailable. */
  v3BaseUrl?: string | undefined;
  /** How host names are resolved (node's `dns.lookup` by default): tests never ask a real DNS server. */
  lookup?: LookupFunction | undefined;
  /** The pace shared between runs (src/state/pace.ts): read once, as the client is made, and told what 429s teach. */
  sharedPace?: { start(): Promise<number | undefined>; learn(perSecond: number): void } | undefined;
}

/** The one client for Imperva: the HTTP side (http.ts), calls with retries and pacing (call.ts), the endpoints. */
export async function createImpervaClient(
  api: Pick<ApiCredentials, 'id' | 'key' | 'baseUrl'>,
  options: ClientOptions,
): Promise<ImpervaClient> {
  const shared = options.sharedPace;
  const pace =
    shared === undefined
      ? undefined
      : { startPerSecond: await shared.start(), onLearn: (perSecond: number) => shared.learn(perSecond) };
  const call = createCall(await createSend(api, options), { ...options, pace });
  /**
   * Set once v3 has refused the credentials twice (see v3-certificates.ts): v1 `account/verify` decides, once per
   * run. Refused there too: the credentials error stops the run. Accepted: v3 is unavailable for the rest of the run
   * (nothing more is sent to it) and the callers read v1.
   */
  let v3Refused: Promise<never> | undefined;
  const confirmWithV1 = async (refusal: ClientError): Promise<never> => {
    await verifyAccount(call);
    throw withoutStack(
      () =>
        new ClientError(
          `${refusal.message}, while v1 accepts the same key`,
          { ...detailsOf(refusal), attempts: 0 },
          'V3_UNAVAILABLE',
        ),
    );
  };
  return {
    upload: (siteId, bundle, names) => upload(call, siteId, bundle, names),
    status: (siteId) => siteStatus(call, siteId),
    async certificates(siteId) {
      if (options.v3BaseUrl === undefined) {
        throw withoutStack(
          () => new ClientError('v3 API not configured', { transient: false, attempts: 0 }, 'V3_UNAVAILABLE'),
        );
      }
      if (v3Refused !== undefined) return v3Refused;
      try {
        return await listCertificates(call, siteId);
      } catch (error) {
        if (!(error instanceof ClientError) || error.code !== 'V3_UNAVAILABLE' || error.status !== 401)
          throw error;
        v3Refused ??= confirmWithV1(error);
        return v3Refused;
      }
    },
    remove: (siteId, keyType) => remove(call, siteId, keyType),
    verifyAccount: () => verifyAccount(call),
    keyRecord: async () =>
      options.v3BaseUrl === undefined
        ? { tracked: false, why: 'the v3 API is not configured' }
        : readKeyRecord(call, api.id),
    async ownCertificates() {
      if (options.v3BaseUrl === undefined) {
        throw withoutStack(
          () => new ClientError('v3 API not configured', { transient: false, attempts: 0 }, 'V3_UNAVAILABLE'),
        );
      }
      return listOwnCertificates(call);
    },
  };
}
