/**
 * Device sources and feedback sinks for real stores: SQLite, PostgreSQL, NDJSON and CSV.
 * Sources are AsyncIterables of Device with constant memory; sinks apply dead-token feedback.
 */
export type { DeviceColumns, RowMappingOptions } from './columns.js';
export { type CsvDevicesOptions, csvDevices } from './csv-source.js';
export { StoreError, type StoreErrorCode } from './errors.js';
export type { DatabaseSinkOptions, FeedbackSink, SinkRetryOptions } from './feedback-sink.js';
export type { PostgresClient, PostgresPool, PostgresTarget, SqliteDatabase } from './handles.js';
export type { TextInput } from './input.js';
export { isMalformedLine, type MalformedLine } from './malformed.js';
export { type NdjsonDevicesOptions, ndjsonDevices } from './ndjson-source.js';
export {
  feedbackLine,
  type NdjsonFeedbackWriter,
  type NdjsonFeedbackWriterOptions,
  ndjsonFeedbackWriter,
} from './ndjson-writer.js';
export { openFeedbackSink, SUPPORTED_SINKS } from './open-sink.js';
export { type OpenDeviceSourceOptions, openDeviceSource, SUPPORTED_SOURCES } from './open-source.js';
export { type PostgresFeedbackSinkOptions, postgresFeedbackSink } from './postgres-sink.js';
export { type PostgresDevicesOptions, postgresDevices } from './postgres-source.js';
export { type SqliteFeedbackSinkOptions, sqliteFeedbackSink } from './sqlite-sink.js';
export { type SqliteDevicesOptions, sqliteDevices } from './sqlite-source.js';
export {
  DEFAULT_WEBHOOK_TOLERANCE_SEC,
  verifyWebhookSignature,
  WEBHOOK_HEADERS,
  type WebhookHeaders,
  webhookSignature,
  webhookSignatureHeader,
} from './webhook-signature.js';
export {
  type WebhookDeliveryEvent,
  type WebhookFailedBatch,
  type WebhookRetryOptions,
  type WebhookSink,
  type WebhookSinkOptions,
  webhookSink,
} from './webhook-sink.js';
