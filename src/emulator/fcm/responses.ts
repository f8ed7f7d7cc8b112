/**
 * Error bodies in Google's `google.rpc.Status` shape, as FCM HTTP v1 answers them:
 * `{"error": {"code", "message", "status", "details": [...]}}`.
 */

export const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
export const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

export interface FieldViolation {
  field: string;
  description: string;
}

export interface RpcError {
  httpStatus: number;
  body: { error: { code: number; message: string; status: string; details?: unknown[] } };
  /** The FCM errorCode, if any (for inspection counts). */
  errorCode: string | undefined;
}

/** A google.rpc.Status, with an FcmError detail when `errorCode` is given. */
export function rpcError(
  httpStatus: number,
  status: string,
  message: string,
  errorCode?: string,
  violations?: FieldViolation[],
): RpcError {
  const details: unknown[] = [];
  if (errorCode) details.push({ '@type': FCM_ERROR_TYPE, errorCode });
  if (violations && violations.length > 0)
    details.push({ '@type': BAD_REQUEST_TYPE, fieldViolations: violations });
  return {
    httpStatus,
    errorCode,
    body: { error: { code: httpStatus, message, status, ...(details.length > 0 ? { details } : {}) } },
  };
}

/** 400 INVALID_ARGUMENT with field violations (the first one's description is the message). */
export function invalidArgument(violations: FieldViolation[]): RpcError {
  return rpcError(
    400,
    'INVALID_ARGUMENT',
    violations[0]?.description ?? 'Request contains an invalid argument.',
    'INVALID_ARGUMENT',
    violations,
  );
}

export function unauthenticated(missing: boolean): RpcError {
  return rpcError(
    401,
    'UNAUTHENTICATED',
    missing
      ? 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.'
      : 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
  );
}
