/**
 * From a database spec string (a config's `databases.<name>.url`) to a dead-token sink, the
 * same spellings `openDeviceSource` takes for databases:
 *
 *   sqlite:path/to.db | sqlite:///abs/path.db   SQLite file
 *   postgres://… | postgresql://…               PostgreSQL connection string
 */
import { StoreError } from './errors.js';
import type { DatabaseSinkOptions, FeedbackSink } from './feedback-sink.js';
import { type PostgresFeedbackSinkOptions, postgresFeedbackSink } from './postgres-sink.js';
import { type SqliteFeedbackSinkOptions, sqliteFeedbackSink } from './sqlite-sink.js';

export const SUPPORTED_SINKS = 'sqlite:<path>, or postgres://… / postgresql://…';

/**
 * Opens the sink a spec names (the sink owns its connection: `close()` releases it). Throws a
 * `store-config` StoreError for a spec that is no database, without echoing it (it may hold a
 * password).
 */
export function openFeedbackSink(
  spec: string,
  options: DatabaseSinkOptions &
    Omit<SqliteFeedbackSinkOptions, keyof DatabaseSinkOptions> &
    Omit<PostgresFeedbackSinkOptions, keyof DatabaseSinkOptions>,
): FeedbackSink {
  const lower = typeof spec === 'string' ? spec.toLowerCase() : '';
  if (lower.startsWith('sqlite:')) {
    let path = spec.slice('sqlite:'.length);
    if (path.startsWith('///')) path = path.slice(2);
    if (path === '')
      throw new StoreError('store-config', 'a sqlite: database spec names no file: use sqlite:path/to.db');
    return sqliteFeedbackSink(path, options);
  }
  if (lower.startsWith('postgres://') || lower.startsWith('postgresql://'))
    return postgresFeedbackSink(spec, options);
  throw new StoreError('store-config', `dead tokens can be applied to a database only: ${SUPPORTED_SINKS}`);
}
