import { isObject } from '../util/strict-json.js';

/** Imperva's verdict on an uploaded certificate, from `debug_info.details` or `ssl.custom_certificate`. */
export interface CertificateVerdict {
  active: boolean | undefined;
  expirationDate: number | undefined;
  inputHash: string | undefined;
  chainError: boolean;
  validityError: boolean;
  hostnameMismatchError: boolean;
  revocationError: boolean;
}

export function readVerdict(details: unknown): CertificateVerdict | undefined {
  if (!isObject(details)) return undefined;
  // Milliseconds, as a number or its digits. null, an empty text or true (which Number reads as 0 or 1, a date in
  // 1970) and a number past what a Date holds (8.64e15 ms) are an unknown expiry, as on v3.
  const given = details.expirationDate;
  const expiration =
    typeof given === 'number' || (typeof given === 'string' && given.trim() !== '')
      ? Number(given)
      : Number.NaN;
  return {
    active: typeof details.active === 'boolean' ? details.active : undefined,
    expirationDate: Number.isNaN(new Date(expiration).getTime()) ? undefined : expiration,
    inputHash: typeof details.inputHash === 'string' ? details.inputHash : undefined,
    chainError: raised(details.chainError),
    validityError: raised(details.validityError),
    // Imperva's swagger names the check coverageError, its CLI and sites/status hostnameMismatchError: either.
    hostnameMismatchError: raised(details.hostnameMismatchError) || raised(details.coverageError),
    revocationError: raised(details.revocationError),
  };
}

/**
 * Whether a flag is raised. Only `true` is documented, but Imperva's own CLI tests the field as Python truth, and
 * `res` already comes as text: `"true"`, 1 or a list of the names at fault raise it too. Only what says no (absent,
 * null, false, 0, an empty text or list, "false", "0") leaves it down, so no shape hides a flagged upload.
 */
export function raised(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0) return false;
  if (typeof value === 'string') return !['', 'false', '0'].includes(value.trim().toLowerCase());
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

/**
 * What is worth a warning after a successful upload: Imperva reads another expiry than the leaf's notAfter, or
 * flags the chain, the validity or the hostname.
 */
export function verdictWarnings(verdict: CertificateVerdict | undefined, notAfter: Date): string[] {
  if (verdict === undefined) return [];
  const warnings: string[] = [];
  if (verdict.expirationDate !== undefined && verdict.expirationDate !== notAfter.getTime()) {
    warnings.push(
      `Imperva reports expiry ${new Date(verdict.expirationDate).toISOString()}, but the certificate's notAfter is ${notAfter.toISOString()}`,
    );
  }
  if (verdict.chainError) warnings.push('Imperva reports a chain error (is the full chain uploaded?)');
  if (verdict.validityError) warnings.push('Imperva reports a validity error');
  if (verdict.hostnameMismatchError)
    warnings.push("Imperva reports the certificate does not cover the site's hostname");
  return warnings;
}
