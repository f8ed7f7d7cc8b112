/** The HPACK static table (RFC 7541 Appendix A): index 1-61, name and value. */
// biome-ignore format: a table
export const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  ['', ''], // index 0 is not used
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'],
  [':path', '/index.html'], [':scheme', 'http'], [':scheme', 'https'], [':status', '200'],
  [':status', '204'], [':status', '206'], [':status', '304'], [':status', '400'],
  [':status', '404'], [':status', '500'], ['accept-charset', ''], ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''], ['accept-ranges', ''], ['accept', ''], ['access-control-allow-origin', ''],
  ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''],
  ['date', ''], ['etag', ''], ['expect', ''], ['expires', ''],
  ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''],
  ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''],
  ['retry-after', ''], ['server', ''], ['set-cookie', ''], ['strict-transport-security', ''],
  ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

/** Number of static entries: dynamic-table indices start after it. */
export const STATIC_COUNT = 61;

/** `name\0value` → static index, for exact matches. */
export const STATIC_FIELD_INDEX: ReadonlyMap<string, number> = new Map(
  STATIC_TABLE.slice(1).map(([name, value], i) => [`${name}\0${value}`, i + 1]),
);

/** name → lowest static index with that name. */
export const STATIC_NAME_INDEX: ReadonlyMap<string, number> = (() => {
  const map = new Map<string, number>();
  for (let i = STATIC_COUNT; i >= 1; i--) map.set(STATIC_TABLE[i]![0], i);
  return map;
})();
