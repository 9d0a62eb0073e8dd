/**
 * When the timer's run (`incap-cert sync --verify`) happens on this host: every 6 hours, at a minute and hour offset
 * of its own, so that many hosts do not meet at Imperva's API at once, and the same offset on every reinstall. The
 * offset comes from a hash of /etc/machine-id (systemd's stable host identity, also what systemd's own
 * FixedRandomDelay uses); a host without one, or with the empty file a fresh image carries before its first boot,
 * falls back to its hostname.
 */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { readSmallFile } from './files.js';

/** Hours between two runs. */
export const EVERY_HOURS = 6;

export interface Schedule {
  /** 0–59. */
  minute: number;
  /** The first run of the day: 0–5; the others follow every 6 hours. */
  hour: number;
  /** What the offset was derived from, for what install says. */
  from: 'machine-id' | 'hostname';
}

/** The offset within the 6 hours for a host identity (pure): the same identity, the same time. */
export function scheduleFor(identity: string, from: Schedule['from']): Schedule {
  const offset = createHash('sha256').update(identity).digest().readUInt32BE(0) % (EVERY_HOURS * 60);
  return { minute: offset % 60, hour: Math.floor(offset / 60), from };
}

/** The hours of the day the run starts: the first one and every 6 hours after it. */
export function runHours(schedule: Schedule): number[] {
  return Array.from({ length: 24 / EVERY_HOURS }, (_, index) => schedule.hour + index * EVERY_HOURS);
}

/** The schedule of the system at `root` ('' or '/' for this one; a staging folder for --destdir). */
export function hostSchedule(root: string): Schedule {
  // No machine-id (or something at its path that is not one): the hostname below.
  const machineId = readSmallFile(join(root || '/', 'etc', 'machine-id'), 4096)?.trim() ?? '';
  return machineId === '' ? scheduleFor(hostname(), 'hostname') : scheduleFor(machineId, 'machine-id');
}
