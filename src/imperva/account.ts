import type { Call } from './call.js';
import { parseAnswer } from './envelope.js';

export interface AccountInfo {
  accountId: string;
  accountName: string;
  planName: string;
}

/** Proves the credentials with one call (v1 `account/verify`). */
export async function verifyAccount(call: Call): Promise<AccountInfo> {
  const { body } = await call({ api: 'v1', siteId: '', path: 'account/verify', form: '' }, parseAnswer);
  return {
    accountId: text(body.account_id),
    accountName: text(body.account_name),
    planName: text(body.plan_name),
  };
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}
