/**
 * The one error shape of the HTTP API: `{ statusCode, error, code, message }` (Fastify's own
 * shape plus a stable `code` to branch on), and for a request that fails validation, `field`
 * naming what is wrong. Messages say what to fix; they never echo a key, a token or a secret.
 */
import { STATUS_CODES } from 'node:http';

/** Stable codes of the API's errors. */
export type HttpErrorCode =
  | 'missing-key'
  | 'invalid-key'
  | 'forbidden'
  | 'unknown-app'
  | 'unknown-database'
  | 'invalid-request'
  | 'body-too-large'
  | 'unsupported-media-type'
  | 'not-found'
  | 'send-finished'
  | 'idempotency-key-in-use'
  | 'idempotency-key-reused'
  | 'rate-limited'
  | 'unavailable'
  | 'shutting-down'
  | 'internal';

/** The JSON body of every error answer. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  code: HttpErrorCode;
  message: string;
  /** The request field at fault (`body.devices[3].platform`), for `invalid-request`. */
  field?: string;
}

/** Thrown by a route or a hook; the server's error handler answers it as an {@link ErrorBody}. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly statusCode: number,
    readonly code: HttpErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }

  body(): ErrorBody {
    return errorBody(this.statusCode, this.code, this.message, this.field);
  }
}

export function errorBody(
  statusCode: number,
  code: HttpErrorCode,
  message: string,
  field?: string,
): ErrorBody {
  return {
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    code,
    message,
    ...(field === undefined ? {} : { field }),
  };
}

/** The JSON schema of {@link ErrorBody}, for the OpenAPI document. */
export const errorBodySchema = {
  type: 'object',
  required: ['statusCode', 'error', 'code', 'message'],
  properties: {
    statusCode: { type: 'integer' },
    error: { type: 'string' },
    code: { type: 'string' },
    message: { type: 'string' },
    field: { type: 'string' },
  },
} as const;
