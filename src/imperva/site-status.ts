import { isObject } from '../util/strict-json.js';
import type { Call } from './call.js';
import { parseAnswer } from './envelope.js';
import { readGenerated, type OwnCertificate } from './own-certificates.js';
import { readVerdict, type CertificateVerdict } from './verdict.js';

export interface SiteStatus {
  siteId: string;
  domain: string | undefined;
  /** What the site serves as its custom certificate; undefined when it has none. */
  custom: CertificateVerdict | undefined;
  /** The DNS records Imperva asks for the site: a CNAME's target is the site's edge. */
  dns: DnsRecord[];
  /** Imperva's own certificate for the site (`generated_certificate`): its fallback. */
  generated?: OwnCertificate | undefined;
}

/** One DNS record Imperva asks for a site (`dns` in `sites/status`): the CNAME target is the site's edge. */
export interface DnsRecord {
  name: string;
  type: string;
  targets: string[];
}

/** What a site serves and where its edge is (v1 `sites/status`). */
export async function siteStatus(call: Call, siteId: string): Promise<SiteStatus> {
  const form = new URLSearchParams({ site_id: siteId }).toString();
  const { body } = await call({ api: 'v1', siteId, path: 'sites/status', form }, parseAnswer);
  const ssl = body.ssl;
  return {
    siteId,
    domain: typeof body.domain === 'string' ? body.domain : undefined,
    custom: readVerdict(isObject(ssl) ? ssl.custom_certificate : undefined),
    dns: readDns(body.dns),
    generated: readGenerated(isObject(ssl) ? ssl.generated_certificate : undefined),
  };
}

/** `set_data_to` arrives as a string or a list of strings; anything else is skipped. */
export function readDns(value: unknown): DnsRecord[] {
  if (!Array.isArray(value)) return [];
  const records: DnsRecord[] = [];
  for (const item of value.slice(0, 100)) {
    if (!isObject(item) || typeof item.dns_record_name !== 'string') continue;
    const data = item.set_data_to;
    const targets = (Array.isArray(data) ? data : [data]).filter(
      (target): target is string => typeof target === 'string' && target !== '',
    );
    records.push({
      name: item.dns_record_name,
      type: typeof item.set_type_to === 'string' ? item.set_type_to : '',
      targets,
    });
  }
  return records;
}
