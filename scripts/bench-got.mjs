// The baseline of scripts/bench.ts's "CPU per upload": the same uploads as incap-cert makes (the same form, the
// same headers, the same concurrency), with got and nothing else — no redaction, logging, pacing or queue.
import { readFileSync } from 'node:fs';
import got from 'got';

const env = process.env;
const form = {
  certificate: readFileSync(env.BENCH_CERT, 'utf8'),
  private_key: readFileSync(env.BENCH_PRIVKEY, 'utf8'),
  auth_type: 'ECC',
  input_hash: env.BENCH_HASH,
};
const sites = env.BENCH_SITES.split(',');
const http = got.extend({
  prefixUrl: `${env.BENCH_URL}/api/prov/v1/`,
  headers: { 'x-API-Id': env.BENCH_ID, 'x-API-Key': env.BENCH_KEY },
  retry: { limit: 0 },
});
let next = 0;
async function worker() {
  while (next < sites.length) {
    const site_id = sites[next];
    next += 1;
    const body = await http.post('sites/customCertificate/upload', { form: { site_id, ...form } }).json();
    if (body.res !== 0) throw new Error(`site ${site_id}: res ${body.res}`);
  }
}
await Promise.all(Array.from({ length: Number(env.BENCH_CONCURRENCY) }, worker));
