/**
 * Turning a row (SQL result, CSV record) into a Device: which column is the token, the
 * platform and the app; every other column rides along on the device untouched, so the row's
 * id comes back on its feedback.
 */
import type { Device, Platform } from '../device.js';
import { PLATFORMS } from '../device.js';
import { StoreError } from './errors.js';

/** Which result column holds what. Defaults: `token`, `platform`, `app`. */
export interface DeviceColumns {
  token?: string;
  platform?: string;
  /** Optional even when named: a row whose app is null/empty gets no `app`. */
  app?: string;
}

/** Options every row-based source takes. */
export interface RowMappingOptions {
  columns?: DeviceColumns;
  /**
   * Every row is this platform (for a table of, say, iOS tokens only). When set, the rows
   * need no platform column.
   */
  platform?: Platform;
}

/** Builds devices from rows of one result; made once per query from its column names. */
export type RowMapper = (row: Record<string, unknown>) => Device;

/**
 * Checks the result's columns against the mapping (throwing a `store-config` error that
 * names the columns the query did return and the fix) and returns the row mapper.
 */
export function rowMapper(names: readonly string[], options: RowMappingOptions, what: string): RowMapper {
  const columns = options.columns ?? {};
  const tokenColumn = columns.token ?? 'token';
  const platformColumn = columns.platform ?? 'platform';
  const appColumn = columns.app ?? 'app';
  const fixedPlatform = options.platform;
  if (fixedPlatform !== undefined && !PLATFORMS.includes(fixedPlatform)) {
    throw new StoreError(
      'store-config',
      `${what}: platform must be one of ${PLATFORMS.join(', ')}, got ${JSON.stringify(fixedPlatform)}`,
    );
  }
  const returned = names.length === 0 ? '(none)' : names.join(', ');
  if (!names.includes(tokenColumn)) {
    throw new StoreError(
      'store-config',
      `${what} returned the columns ${returned} but no token column '${tokenColumn}': ` +
        `name yours with columns: { token: '<column>' }, or alias it (SELECT device_token AS token …)`,
    );
  }
  const hasPlatform = fixedPlatform === undefined;
  if (hasPlatform && !names.includes(platformColumn)) {
    throw new StoreError(
      'store-config',
      `${what} returned the columns ${returned} but no platform column '${platformColumn}': ` +
        `name yours with columns: { platform: '<column>' }, alias it (SELECT os AS platform …), ` +
        `or give platform: 'ios' | 'android' | 'web' | 'huawei' when every row has the same one`,
    );
  }
  const hasApp = names.includes(appColumn);
  // The Device's own field names never ride along as extras: they would overwrite the mapped values.
  const mapped = new Set([tokenColumn, platformColumn, appColumn, 'token', 'platform', 'app']);
  const extras = names.filter((name) => !mapped.has(name));

  return (row) => {
    // platform and token first: they are what a reader of a log line looks for.
    const device: Device = {
      platform: (hasPlatform ? row[platformColumn] : fixedPlatform) as Platform,
      token: row[tokenColumn] as Device['token'],
    };
    if (hasApp) {
      const app = row[appColumn];
      // A null app means "the default app": the router matches a device without `app`.
      if (app !== null && app !== undefined && app !== '') device.app = String(app);
    }
    for (const name of extras) device[name] = row[name];
    return device;
  };
}
