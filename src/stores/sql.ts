/**
 * Quotes an identifier for SQL (PostgreSQL and SQLite share the double-quote rule), so a
 * table or column name from configuration can never change the statement. `schema.table` is
 * split on the dot and each part quoted.
 */
export function quoteIdentifier(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part.replaceAll('"', '""')}"`)
    .join('.');
}
