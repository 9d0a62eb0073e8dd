/**
 * A probe to preload into the built CLI (node --require FILE) that counts the elements Array search methods visit —
 * the callbacks of some/find/findIndex/filter/every, the length of includes/indexOf — and writes the count to the
 * file named by PROBE_OUT at exit. Scale tests compare it for n and 2n sites: linear work doubles, quadratic work
 * quadruples. No clock.
 */
export const VISIT_PROBE = `
const { writeFileSync } = require('node:fs');
let visited = 0;
for (const name of ['some', 'find', 'findIndex', 'filter', 'every']) {
  const real = Array.prototype[name];
  Object.defineProperty(Array.prototype, name, { configurable: true, writable: true, value: function (fn, self) {
    return real.call(this, function (...args) { visited += 1; return fn.apply(self, args); });
  } });
}
for (const name of ['includes', 'indexOf']) {
  const real = Array.prototype[name];
  Object.defineProperty(Array.prototype, name, { configurable: true, writable: true, value: function (...args) {
    visited += this.length;
    return real.apply(this, args);
  } });
}
process.on('exit', () => writeFileSync(process.env.PROBE_OUT, String(visited)));
`;
