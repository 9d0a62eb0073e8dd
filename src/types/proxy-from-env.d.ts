/** proxy-from-env ships no types: its one function, as its README documents it. */
declare module 'proxy-from-env' {
  /** The proxy URL for `url` as HTTPS_PROXY/HTTP_PROXY/ALL_PROXY/NO_PROXY (and lower case) say; '' for none. */
  export function getProxyForUrl(url: string | URL): string;
}
