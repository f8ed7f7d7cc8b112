/**
 * From Ajv's errors to the 400 a client can act on: the field at fault as a path
 * (`body.devices[3].platform`, `body.notification.bodyy`) and what is wrong with it, without
 * echoing the value (it may be a token).
 */

/** The part of Ajv's `ErrorObject` used here. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

/** `/devices/3/platform` → `.devices[3].platform`. */
function path(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('');
}

/** The most useful error of a failed validation, as a field and a message. */
export function validationField(
  errors: readonly SchemaError[],
  prefix: string,
): { field: string; message: string } {
  const oneOf = errors.find((e) => e.keyword === 'oneOf');
  if (
    oneOf !== undefined &&
    errors.every((e) => e === oneOf || (e.keyword === 'required' && e.instancePath === oneOf.instancePath))
  ) {
    return oneOfMessage(`${prefix}${path(oneOf.instancePath)}`);
  }
  // `oneOf`/`anyOf` report their branches' errors first and themselves last: the first error
  // that names a property is the most precise one.
  const error = errors.find((e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf') ?? errors[0];
  if (error === undefined) return { field: prefix, message: `${prefix} is not valid` };
  // The one `anyOf` of the API: a device's token, a string or a Web Push subscription.
  const anyOf = errors.find((e) => e.keyword === 'anyOf');
  if (anyOf !== undefined && error.instancePath.startsWith(anyOf.instancePath)) {
    const at = `${prefix}${path(anyOf.instancePath)}`;
    return {
      field: at,
      message: `${at} must be a token (a non-empty string) or a Web Push subscription {endpoint, keys: {p256dh, auth}}`,
    };
  }
  const at = `${prefix}${path(error.instancePath)}`;
  const params = error.params;
  switch (error.keyword) {
    case 'required':
      return {
        field: `${at}.${String(params['missingProperty'])}`,
        message: `${at}.${String(params['missingProperty'])} is required`,
      };
    case 'additionalProperties':
      return {
        field: `${at}.${String(params['additionalProperty'])}`,
        message: `${at}.${String(params['additionalProperty'])} is not a known field`,
      };
    case 'enum':
      return {
        field: at,
        message: `${at} must be one of ${(params['allowedValues'] as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'maxItems':
      return {
        field: at,
        message: `${at} holds more than ${String(params['limit'])} items (stream larger sends as NDJSON, or name a source)`,
      };
    default:
      return { field: at, message: `${at} ${error.message ?? 'is not valid'}` };
  }
}

/** For the send body's `oneOf`: neither or both of `devices` and `source`. */
export function oneOfMessage(prefix: string): { field: string; message: string } {
  return {
    field: prefix,
    message: `${prefix} must have exactly one of devices (inline) and source ({database, query}); or stream devices as application/x-ndjson`,
  };
}
