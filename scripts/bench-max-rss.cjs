// Preloaded by scripts/bench.ts (node --require): when the process exits, writes its peak resident set (KiB) and
// the CPU it used (user + system, µs) as JSON to the file named by INCAP_CERT_BENCH_RSS.
'use strict';
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  if (!process.env.INCAP_CERT_BENCH_RSS) return;
  const usage = process.resourceUsage();
  writeFileSync(
    process.env.INCAP_CERT_BENCH_RSS,
    JSON.stringify({ maxRssKiB: usage.maxRSS, cpuMicros: usage.userCPUTime + usage.systemCPUTime }),
  );
});
