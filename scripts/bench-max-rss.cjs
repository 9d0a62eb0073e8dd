// Preloaded by scripts/bench.ts (node --require): writes the process's peak resident set (KiB) when it exits.
'use strict';
const { writeFileSync } = require('node:fs');

process.on('exit', () => {
  if (process.env.INCAP_CERT_BENCH_RSS)
    writeFileSync(process.env.INCAP_CERT_BENCH_RSS, String(process.resourceUsage().maxRSS));
});
