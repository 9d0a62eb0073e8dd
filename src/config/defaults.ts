export const DEFAULT_CONFIG_FILE = '/etc/incap-cert/config.json';
export const DEFAULT_BASE_URL = 'https://my.imperva.com';
export const DEFAULT_STATE_DIR = '/var/lib/incap-cert';
/** Where Certbot keeps its live lineages (../shared/reference/acme-clients.md). */
export const DEFAULT_LIVE_DIR = '/etc/letsencrypt/live';
