import type { CertificateBundle, KeyType } from '../model/certificate.js';
import { isObject } from '../util/strict-json.js';
import type { Call } from './call.js';
import { parseAnswer } from './envelope.js';
import { FlaggedUpload, withoutStack } from './errors.js';
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

/**
 * Uploads the certificate as the site's custom certificate of its key type (v1 `sites/customCertificate/upload`).
 * An answer that flags the certificate's coverage or chain throws a FlaggedUpload naming which of `names` (the names
 * mapped to the site) the certificate does not cover: Imperva stores such a certificate all the same.
 */
export async function upload(
  call: Call,
  siteId: string,
  bundle: CertificateBundle,
  names: readonly string[] = [],
): Promise<UploadResult> {
  const form = new URLSearchParams(uploadForm(siteId, bundle)).toString();
  const envelope = await call(
    { api: 'v1', siteId, path: 'sites/customCertificate/upload', form },
    parseAnswer,
  );
  const debugInfo = envelope.body.debug_info;
  const verdict = readVerdict(isObject(debugInfo) ? debugInfo.details : undefined);
  if (verdict?.hostnameMismatchError === true || verdict?.chainError === true) {
    const uncovered = verdict.hostnameMismatchError
      ? names.filter((name) => !bundle.names.includes(name) && bundle.leaf.checkHost(name) === undefined)
      : undefined;
    throw withoutStack(() => new FlaggedUpload(uncovered, verdict.chainError));
  }
  return { resMessage: envelope.resMessage, verdict };
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
