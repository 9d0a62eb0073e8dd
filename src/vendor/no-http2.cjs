// What got gets for `import http2wrapper from 'http2-wrapper'` in incap-cert's bundles (scripts/build.mjs aliases
// it). got reaches for it only when a request asks for HTTP/2 (`http2: true`), and incap-cert never does: Imperva's
// API is HTTP/1.1. The real module builds a TLS socket while it loads (its js-stream-socket), a secure context of a
// few MiB for every run that makes an API call.
'use strict';
module.exports = {
  globalAgent: undefined,
  auto() {
    throw new Error('incap-cert is built without HTTP/2 (http2-wrapper): use HTTP/1.1');
  },
};
