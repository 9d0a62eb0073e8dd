import type { CertificateBundle, KeyType } from '../model/certificate.js';
import { isObject } from '../util/strict-json.js';
import type { Call } from './call.js';
import { parseAnswer } from './envelope.js';
import { readVerdict, type CertificateVerdict } from './verdict.js';

export interface UploadResult {
  resMessage: string;
  verdict: CertificateVerdict | undefined;
}

/** The form fields of one upload (docs/imperva-api.md, "Upload or replace: v1"). */
export function uploadForm(siteId: string, bundle: CertificateBundle): Record<string, string> {
  return {
    site_id: siteId,
    certificate: bundle.certPem.toString('base64'),
    private_key: bundle.keyPem.toString('base64'),
    auth_type: bundle.keyType satisfies KeyType,
    input_hash: bundle.fingerprint,
  };
}

/** Uploads the certificate as the site's custom certificate of its key type (v1 `sites/customCertificate/upload`). */
export async function upload(call: Call, siteId: string, bundle: CertificateBundle): Promise<UploadResult> {
  const form = new URLSearchParams(uploadForm(siteId, bundle)).toString();
  const envelope = await call(
    { api: 'v1', siteId, path: 'sites/customCertificate/upload', form },
    parseAnswer,
  );
  const debugInfo = envelope.body.debug_info;
  return {
    resMessage: envelope.resMessage,
    verdict: readVerdict(isObject(debugInfo) ? debugInfo.details : undefined),
  };
}

/** Removes the site's custom certificate of one key type (v1 `sites/customCertificate/remove`). */
export async function remove(call: Call, siteId: string, keyType: KeyType): Promise<{ resMessage: string }> {
  const form = new URLSearchParams({ site_id: siteId, auth_type: keyType }).toString();
  const envelope = await call(
    { api: 'v1', siteId, path: 'sites/customCertificate/remove', form },
    parseAnswer,
  );
  return { resMessage: envelope.resMessage };
}
