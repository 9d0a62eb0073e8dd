/**
 * The timer's run (sync): every lineage's schedule is judged, each problem is a warning, the metrics file gets each
 * lineage's window and state, and the onFailure program runs once when a lineage's state turns into a problem (the
 * state last reported is kept in the ARI cache, so a lasting problem is not reported every day).
 */
import { tellOnFailure } from '../notify/on-failure.js';
import type { LineageSample } from '../model/report.js';
import type { RunContext } from '../run/context.js';
import { lineageSchedule } from './lineages.js';
import { findingLine } from '../model/finding.js';

/** Judges the lineages in `liveDir` (and the config's sources); returns their samples for the metrics file. */
export async function timerSchedule(liveDir: string, ctx: RunContext): Promise<LineageSample[]> {
  const { config, log } = ctx;
  const report = await lineageSchedule({
    config,
    liveDir,
    log,
    now: ctx.now,
    keepStates: true,
    run: ctx,
  });
  for (const finding of report.findings) {
    if (finding.ok) log.debug(`schedule: ${findingLine(finding)}`);
    else log.warn(`schedule: ${findingLine(finding)}`);
  }
  const turned = report.changed.filter(({ state }) => state !== 'waiting' && state !== 'in-window');
  if (turned.length > 0 && config.onFailure !== undefined) {
    const lineages = turned.flatMap(({ lineage }) =>
      report.findings
        .filter((finding) => finding.subject === lineage && !finding.ok)
        .map((finding) => ({ lineage, state: finding.kind, message: finding.message, fix: finding.fix })),
    );
    await tellOnFailure(config.onFailure, { sites: [], lineages }, ctx);
  }
  return report.lineages.map(({ lineage, state, window }) => ({ lineage, state, windowEnd: window.end }));
}
