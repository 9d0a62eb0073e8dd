/**
 * Where to look for what a site serves (pure). Order: the configured edge address (`edgeAddress`, `HOST:PORT`: an
 * operator checking before a DNS cut-over, and the tests), else the site's CNAME target from Imperva's `sites/status`
 * `dns` (the site's edge), else the name itself on port 443. SNI is the site's name; for a wildcard name, which no
 * TLS client can send, it is the site's `domain` as Imperva reports it.
 */
import { isIP } from 'node:net';
import { normalizeName } from '../config/site-map.js';

export interface EdgeAddress {
  host: string;
  port: number;
}

export interface EdgeTarget {
  /** Where to connect: an IP address or a host name. */
  host: string;
  port: number;
  /** The SNI name to send. */
  servername: string;
  /** Which rule chose `host`. */
  via: 'edgeAddress' | 'cname' | 'name';
}

export interface EdgeTargetInput {
  /** The site's name as mapped in the config (may be a wildcard, `*.example.com`). */
  name: string;
  /** The site's `domain` from Imperva's `sites/status`; the SNI for a wildcard name. */
  domain?: string | undefined;
  /** Config `edgeAddress` (env `INCAP_CERT_EDGE`), already parsed. */
  edgeAddress?: EdgeAddress | undefined;
  /** The `dns` array of the site's `sites/status` answer, as received (checked here). */
  dns?: unknown;
}

export const DEFAULT_EDGE_PORT = 443;

/** Parses `HOST:PORT` (`[v6]:PORT` for IPv6). undefined when it is not that. */
export function parseEdgeAddress(text: string): EdgeAddress | undefined {
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text.trim()) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text.trim());
  if (match === null) return undefined;
  const [, rawHost = '', rawPort = ''] = match;
  const port = Number(rawPort);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return undefined;
  if (isIP(rawHost) !== 0) return { host: rawHost, port };
  if (text.trim().startsWith('[')) return undefined; // brackets are for IPv6 only
  const host = normalizeName(rawHost);
  return host === undefined || host.startsWith('*.') ? undefined : { host, port };
}

/**
 * The site's CNAME target from `sites/status` `dns`: the CNAME record for `name` if there is one, else any CNAME
 * record of the site (Imperva gives a site one edge; an apex gets A records and its www the CNAME). `set_data_to`
 * comes as a string or as a list of strings. undefined when there is no usable target.
 */
export function cnameTarget(dns: unknown, name: string): string | undefined {
  if (!Array.isArray(dns)) return undefined;
  const wanted = normalizeName(name);
  let any: string | undefined;
  for (const record of dns as unknown[]) {
    if (typeof record !== 'object' || record === null) continue;
    const {
      dns_record_name: recordName,
      set_type_to: type,
      set_data_to: data,
    } = record as Record<string, unknown>;
    if (typeof type !== 'string' || type.toUpperCase() !== 'CNAME') continue;
    const first: unknown = Array.isArray(data) ? (data as unknown[])[0] : data;
    if (typeof first !== 'string') continue;
    const target = normalizeName(first);
    if (target === undefined || target.startsWith('*.')) continue;
    if (typeof recordName === 'string' && wanted !== undefined && normalizeName(recordName) === wanted) {
      return target;
    }
    any ??= target;
  }
  return any;
}

/** Where to connect and which SNI to send for one site name; `{error}` when there is no name to send. */
export function edgeTarget(input: EdgeTargetInput): EdgeTarget | { error: string } {
  const name = normalizeName(input.name);
  if (name === undefined) return { error: `"${input.name}" is not a domain name` };
  let servername = name;
  if (name.startsWith('*.')) {
    const domain = input.domain === undefined ? undefined : normalizeName(input.domain);
    if (domain === undefined || domain.startsWith('*.')) {
      return {
        error: `${name} is a wildcard and Imperva reported no domain for the site to send as the TLS server name`,
      };
    }
    servername = domain;
  }
  if (input.edgeAddress !== undefined) {
    return { host: input.edgeAddress.host, port: input.edgeAddress.port, servername, via: 'edgeAddress' };
  }
  const cname = cnameTarget(input.dns, servername);
  if (cname !== undefined) return { host: cname, port: DEFAULT_EDGE_PORT, servername, via: 'cname' };
  return { host: servername, port: DEFAULT_EDGE_PORT, servername, via: 'name' };
}
