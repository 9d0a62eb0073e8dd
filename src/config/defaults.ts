export const DEFAULT_CONFIG_FILE = '/etc/incap-cert/config.json';
export const DEFAULT_BASE_URL = 'https://my.imperva.com';
export const DEFAULT_STATE_DIR = '/var/lib/incap-cert';
/** Where Certbot keeps its live lineages (docs/acme-clients.md). */
export const DEFAULT_LIVE_DIR = '/etc/letsencrypt/live';

/** Attempts per site and call, the first included (retries of transient failures only). */
export const DEFAULT_ATTEMPTS = 4;
/** Per request: Certbot sets no timeout of its own and waits on the hook for ever. */
export const DEFAULT_TIMEOUT_SECONDS = 30;
/** For the whole run, retries included. */
export const DEFAULT_DEADLINE_SECONDS = 300;
/** For a hook run (deploy): over before lego's 2-minute hook kill (docs/acme-clients.md). */
export const DEFAULT_HOOK_DEADLINE_SECONDS = 100;
/** The first retry waits about this long; each later one about twice as long as the one before, capped. */
export const DEFAULT_RETRY_DELAY_SECONDS = 2;
/** Requests in flight at once; after a 429 the client paces itself to the rate it learned (src/imperva/limiter.ts). */
export const DEFAULT_CONCURRENCY = 8;
/** Imperva's v3 API (certificates per key type), on another host than the v1 API. */
export const DEFAULT_V3_BASE_URL = 'https://api.imperva.com';
