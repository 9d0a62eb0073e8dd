import type { Agent as HttpAgent, AgentOptions } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';

/** The proxy one of Imperva's hosts is reached through, and how to name it without its credentials. */
export interface Proxy {
  /** `http://proxy.example:3128`: no user, no password. */
  shown: string;
  agents: { http: HttpAgent; https: HttpsAgent };
}

/**
 * HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY (and their lower-case forms) read as the widely used
 * proxy-from-env package reads them: host, suffix, port and `*` in NO_PROXY; loopback is proxied too unless
 * NO_PROXY names it. Loaded only when the client is made; the agents (hpagent) only when a proxy applies.
 */
export async function proxyFor(target: string, agentOptions: AgentOptions): Promise<Proxy | undefined> {
  const { getProxyForUrl } = await import('proxy-from-env');
  const proxy = getProxyForUrl(target);
  if (proxy === '') return undefined;
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(proxy) ? proxy : `http://${proxy}`);
  } catch {
    throw new Error(`the proxy for ${new URL(target).host} (from the *_PROXY variables) is not a URL`);
  }
  const { HttpProxyAgent, HttpsProxyAgent } = await import('hpagent');
  return {
    shown: `${url.protocol}//${url.host}`,
    agents: {
      http: new HttpProxyAgent({ ...agentOptions, proxy: url }),
      https: new HttpsProxyAgent({ ...agentOptions, proxy: url }),
    },
  };
}
