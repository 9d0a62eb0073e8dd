/**
 * What an edge probe means for one site and key type (pure):
 * - served: the edge serves exactly the local leaf (same SHA-256) with the certificate that issued it, and the leaf
 *   covers the name (as this host reads its names: Imperva keeps one certificate per site and key type, so another
 *   lineage's, this host's too, may be what a name gets);
 * - stale: another certificate whose names cover the site's name and that expires before the local one (an upload
 *   that has not propagated yet, an earlier upload, Imperva's own certificate);
 * - wrong: anything else (names that do not cover the site, or a certificate not ours that expires as late or later);
 * - unreachable: the probe got no certificate;
 * - pending (given by survey.ts, not here): not served, but uploaded within the verify grace (pendingGraceMs).
 */
import { normalizeName } from '../config/site-map.js';
import { keyTypeText, type KeyType } from '../model/certificate.js';
import { isProbeFailure, type ProbeResult } from './probe.js';

export type EdgeState = 'served' | 'stale' | 'wrong' | 'unreachable' | 'pending';

export interface EdgeVerdict {
  state: EdgeState;
  /** One clause for the user, e.g. "serves an older certificate (expires 2026-01-02T…)". No secrets. */
  detail: string;
}

export interface JudgeInput {
  /** The site's name as mapped (a wildcard name is judged as the literal wildcard). */
  name: string;
  /**
   * The local leaf: SHA-256 (hex, any case, colons allowed), notAfter, and its names as this host reads them (when
   * given, the local leaf served for a name they do not cover is wrong).
   */
  local: { fingerprint: string; notAfter: Date; names?: readonly string[] };
  probe: ProbeResult;
}

export function judgeEdge({ name, local, probe }: JudgeInput): EdgeVerdict {
  if (isProbeFailure(probe)) return { state: 'unreachable', detail: probe.error };
  const expires = probe.notAfter.toISOString();
  if (normalizeFingerprint(probe.leafSha256) === normalizeFingerprint(local.fingerprint)) {
    if (local.names !== undefined && !namesCover(local.names, name))
      return { state: 'wrong', detail: notCovered("serves this host's certificate", local.names, name) };
    if (probe.issuerServed === false)
      return { state: 'wrong', detail: `serves the local certificate ${NO_CHAIN}` };
    return { state: 'served', detail: `serves the local certificate (expires ${expires})` };
  }
  if (!namesCover(probe.names, name)) {
    const names = probe.names.length === 0 ? 'no names' : probe.names.slice(0, 5).join(', ');
    return { state: 'wrong', detail: `serves a certificate for ${names}, which does not cover ${name}` };
  }
  if (probe.notAfter.getTime() < local.notAfter.getTime()) {
    return {
      state: 'stale',
      detail: `serves an older certificate (expires ${expires}, the local one ${local.notAfter.toISOString()})`,
    };
  }
  return {
    state: 'wrong',
    detail: `serves another certificate for ${name} that expires ${expires}, not before the local one`,
  };
}

/**
 * What a client offering both key types (as browsers do) gets for `name`:
 * - served: one of this host's certificates for the site (`ours`) that covers the name (as this host reads it); or a certificate that covers the name, of a key
 *   type this host does not deploy there, that this host never uploaded (Imperva's own certificate of that key type
 *   for the site, or another host's): the browser gets a valid certificate for the name;
 * - wrong: a certificate that does not cover the name (another lineage's, this host's too, as Imperva keeps one per
 *   key type), or
 *   one this host uploaded earlier and no longer deploys (`earlier`: what a key-type switch left behind);
 * - for a key type this host deploys, anything else is judged against this host's certificate of it (judgeEdge).
 */
export function judgeBoth(
  probe: ProbeResult,
  name: string,
  ours: readonly { keyType: KeyType; fingerprint: string; notAfter: Date; names?: readonly string[] }[],
  earlier: readonly string[],
): EdgeVerdict {
  if (isProbeFailure(probe)) return { state: 'unreachable', detail: probe.error };
  const expires = probe.notAfter.toISOString();
  const leaf = normalizeFingerprint(probe.leafSha256);
  const type = probe.keyType === undefined ? 'a' : `an ${keyTypeText(probe.keyType)}`;
  const both = 'a client offering both key types gets';
  const mine = ours.find((one) => normalizeFingerprint(one.fingerprint) === leaf);
  if (mine?.names !== undefined && !namesCover(mine.names, name)) {
    const what = `${both} this host's ${probe.keyType === undefined ? '' : `${keyTypeText(probe.keyType)} `}certificate`;
    return { state: 'wrong', detail: notCovered(what, mine.names, name) };
  }
  if (mine !== undefined && probe.issuerServed === false)
    return { state: 'wrong', detail: `${both} this host's certificate ${NO_CHAIN}` };
  if (mine !== undefined) {
    return {
      state: 'served',
      detail: `${both} this host's ${probe.keyType === undefined ? '' : keyTypeText(probe.keyType)} certificate (expires ${expires})`,
    };
  }
  if (earlier.some((fingerprint) => normalizeFingerprint(fingerprint) === leaf)) {
    return {
      state: 'wrong',
      detail: `${both} ${type} certificate this host uploaded earlier and no longer deploys (expires ${expires})`,
    };
  }
  const local = ours.find((one) => one.keyType === probe.keyType);
  if (local !== undefined) {
    const verdict = judgeEdge({ name, local, probe });
    return {
      state: verdict.state,
      detail: `${both} ${type} certificate that ${verdict.detail.replace(/^serves /, 'is ')}`,
    };
  }
  if (!namesCover(probe.names, name)) {
    const names = probe.names.length === 0 ? 'no names' : probe.names.slice(0, 5).join(', ');
    return {
      state: 'wrong',
      detail: `${both} ${type} certificate for ${names}, which does not cover ${name}`,
    };
  }
  return {
    state: 'served',
    detail: `${both} ${type} certificate for ${name} that this host did not upload (expires ${expires})`,
  };
}

/** The leaf served alone: browsers that do not hold the intermediate reject it. */
const NO_CHAIN =
  'without the certificate that issued it (the chain the edge serves is incomplete: upload fullchain.pem, with push --lineage)';

/** `what for a.example, b.example, which does not cover name` (the first five names). */
function notCovered(what: string, names: readonly string[], name: string): string {
  return `${what} for ${names.length === 0 ? 'no names' : names.slice(0, 5).join(', ')}, which does not cover ${name}`;
}

/** Hex fingerprints compare lowercase, without colons or spaces. */
export function normalizeFingerprint(fingerprint: string): string {
  return fingerprint.replace(/[:\s]/g, '').toLowerCase();
}

/** Whether any of a certificate's names covers `name`. */
export function namesCover(certificateNames: readonly string[], name: string): boolean {
  return certificateNames.some((pattern) => nameCovers(pattern, name));
}

/**
 * RFC 6125 as browsers apply it: names compare case-insensitively without a trailing dot; `*.example.com` covers
 * exactly one non-empty label in front of `example.com` (not `example.com`, not `a.b.example.com`); a wildcard must be
 * the whole left-most label; a wildcard site name (`*.example.com`) is covered only by that same wildcard.
 */
export function nameCovers(pattern: string, name: string): boolean {
  const certName = normalizeName(pattern);
  const wanted = normalizeName(name);
  if (certName === undefined || wanted === undefined) return false;
  if (certName === wanted) return true;
  if (!certName.startsWith('*.') || wanted.startsWith('*.')) return false;
  const base = certName.slice(2);
  if (!base.includes('.')) return false; // `*.com` covers nothing
  const dot = wanted.indexOf('.');
  return dot > 0 && wanted.slice(dot + 1) === base;
}
