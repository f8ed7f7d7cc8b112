import { StoreError } from './errors.js';

/**
 * Quotes an identifier for SQL (PostgreSQL and SQLite share the double-quote rule), so a
 * table or column name from configuration can never change the statement. `schema.table` is
 * split on the dot and each part quoted; any other dotted form is refused (see
 * {@link checkTableName}).
 */
export function quoteIdentifier(name: string): string {
  return checkTableName(name)
    .map((part) => `"${part.replaceAll('"', '""')}"`)
    .join('.');
}

/** The forms a table name may take, for messages. */
export const TABLE_NAME_FORMS = 'a name or schema.name (e.g. devices or public.devices)';

/**
 * Splits `table` or `schema.table` into its parts. Anything else (`a.b.c`, an empty part as in
 * `devices.`) is a `store-config` StoreError naming the accepted forms: quoted as it is, it
 * would reach the database as a cross-database reference or a name that cannot exist.
 */
export function checkTableName(name: string): string[] {
  const parts = name.split('.');
  if (parts.length > 2 || parts.some((part) => part === '')) {
    throw new StoreError('store-config', `'${name}' is not an accepted identifier: give ${TABLE_NAME_FORMS}`);
  }
  return parts;
}
