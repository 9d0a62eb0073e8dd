import { FlaggedUpload } from '../imperva/errors.js';
import { StateError } from '../model/errors.js';
import type { RunContext } from '../run/context.js';
import { DeliveryRecord, type Delivery, type DeliveryFlag } from '../state/delivery.js';
import type { Queue } from '../state/queue.js';
import type { Failure, Intent } from '../state/transitions.js';
import { sha1Of } from './held.js';
import type { Ready } from './prepare.js';
import type { Done } from './site-outcome.js';

/**
 * What a run owes, in the retry queue: each site recorded before its upload starts (deploy and push), then what
 * failed or was deferred recorded and what was delivered cleared. A queue that cannot be written is returned, not
 * thrown: the uploads stand, and the caller says what could not be recorded.
 */

/** Records the sites about to be uploaded to. */
export async function recordIntent(queue: Queue, ready: readonly Ready[]): Promise<StateError | undefined> {
  try {
    await queue.begin(ready.map(intentOf));
    return undefined;
  } catch (error) {
    if (!(error instanceof StateError)) throw error;
    return error;
  }
}

/** Records how every site's turn ended; `queued` says whether failures are now in the queue. */
export async function recordOutcome(
  queue: Queue,
  done: readonly Done[],
  ctx: RunContext,
): Promise<{ queued: boolean; unrecorded?: StateError | undefined }> {
  const failed = done.filter((one) => one.result.action === 'failed');
  await new DeliveryRecord(ctx.config.stateDir, ctx.log, ctx.now, undefined, ctx).record(
    done.flatMap((one) => {
      const delivery = deliveryOf(one, ctx.now());
      return delivery === undefined ? [] : [delivery];
    }),
  );
  try {
    await queue.settle({
      failures: failed.map(failureOf),
      deferred: done.filter((one) => one.result.action === 'deferred').map((one) => intentOf(one.ready)),
      delivered: done
        .filter((one) => one.result.action === 'uploaded' || one.result.action === 'current')
        .map((one) => ({
          siteId: one.ready.siteId,
          authType: one.ready.bundle.keyType,
          notAfter: one.ready.bundle.notAfter,
        })),
    });
  } catch (error) {
    if (!(error instanceof StateError)) throw error;
    return { queued: false, unrecorded: error };
  }
  if (failed.length > 0) {
    ctx.log.info(
      `queued ${failed.length} failed site${failed.length === 1 ? '' : 's'} in ${ctx.config.stateDir} for the next sync`,
    );
  }
  return { queued: failed.length > 0 };
}

/**
 * What Imperva stored in this site's turn: an upload it took, or one it took and flagged (it keeps a flagged
 * certificate all the same, and the flag shows nowhere else for the chain).
 */
function deliveryOf({ ready, result, error, stored }: Done, now: Date): Delivery | undefined {
  if (result.action !== 'uploaded' && stored !== true) return undefined;
  const flagged = error instanceof FlaggedUpload ? error : undefined;
  const { bundle } = ready;
  const flags: DeliveryFlag[] = [];
  if (flagged?.uncovered !== undefined) flags.push('coverageError');
  if (flagged?.chainError === true) flags.push('chainError');
  return {
    siteId: ready.siteId,
    keyType: bundle.keyType,
    fingerprint: bundle.fingerprint,
    sha1: sha1Of(bundle) ?? '',
    notAfter: bundle.notAfter.toISOString(),
    chainLength: bundle.chainLength,
    names: [...ready.names],
    at: now.toISOString(),
    flags,
    ...(flagged?.uncovered === undefined || flagged.uncovered.length === 0
      ? {}
      : { uncovered: [...flagged.uncovered] }),
  };
}

function intentOf(want: Ready): Intent {
  return {
    siteId: want.siteId,
    authType: want.bundle.keyType,
    names: want.names,
    source: want.files,
    fingerprint: want.bundle.fingerprint,
    notAfter: want.bundle.notAfter,
    explicit: want.explicit,
  };
}

function failureOf({ ready: want, error, unreachedSince }: Done): Failure {
  return {
    siteId: want.siteId,
    authType: want.bundle.keyType,
    names: want.names,
    source: want.files,
    fingerprint: want.bundle.fingerprint,
    notAfter: want.bundle.notAfter,
    explicit: want.explicit,
    error: error?.message ?? '',
    attempts: error?.attempts ?? 1,
    unreachedSince,
  };
}
