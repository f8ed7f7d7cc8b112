/**
 * Every reason the APNs emulator can answer, with its HTTP status and Apple's own words
 * ("Handling notification responses from APNs", developer.apple.com). One table, so the
 * protocol can be read in one place; the emulator never answers a reason not listed here.
 */

export const APNS_REASONS = {
  BadCollapseId: { status: 400, meaning: 'The collapse identifier exceeds the maximum allowed size.' },
  BadDeviceToken: {
    status: 400,
    meaning:
      'The specified device token is invalid. Verify that the request contains a valid token and that the token matches the environment.',
  },
  BadExpirationDate: { status: 400, meaning: 'The apns-expiration value is invalid.' },
  BadMessageId: { status: 400, meaning: 'The apns-id value is invalid.' },
  BadPriority: { status: 400, meaning: 'The apns-priority value is invalid.' },
  BadTopic: { status: 400, meaning: 'The apns-topic value is invalid.' },
  DeviceTokenNotForTopic: { status: 400, meaning: 'The device token doesn’t match the specified topic.' },
  DuplicateHeaders: { status: 400, meaning: 'One or more headers are repeated.' },
  IdleTimeout: { status: 400, meaning: 'Idle timeout.' },
  InvalidPushType: { status: 400, meaning: 'The apns-push-type value is invalid.' },
  MissingDeviceToken: {
    status: 400,
    meaning:
      'The device token isn’t specified in the request :path. Verify that the :path header contains the device token.',
  },
  MissingTopic: {
    status: 400,
    meaning:
      'The apns-topic header of the request isn’t specified and is required. The apns-topic header is mandatory when the client is connected using a certificate that supports multiple topics.',
  },
  PayloadEmpty: { status: 400, meaning: 'The message payload is empty.' },
  TopicDisallowed: { status: 400, meaning: 'Pushing to this topic is not allowed.' },
  BadCertificate: { status: 403, meaning: 'The certificate is invalid.' },
  BadCertificateEnvironment: { status: 403, meaning: 'The client certificate is for the wrong environment.' },
  ExpiredProviderToken: {
    status: 403,
    meaning: 'The provider token is stale and a new token should be generated.',
  },
  Forbidden: { status: 403, meaning: 'The specified action is not allowed.' },
  InvalidProviderToken: {
    status: 403,
    meaning: 'The provider token is not valid, or the token signature can’t be verified.',
  },
  MissingProviderToken: {
    status: 403,
    meaning:
      'No provider certificate was used to connect to APNs, and the authorization header is missing or no provider token is specified.',
  },
  UnrelatedKeyIdInToken: {
    status: 403,
    meaning:
      'The key ID in the provider token isn’t related to the key ID of the token used in the first push of this connection. To use this token, open a new connection.',
  },
  BadEnvironmentKeyIdInToken: {
    status: 403,
    meaning: 'The key ID in the provider token doesn’t match the environment.',
  },
  BadPath: { status: 404, meaning: 'The request contained an invalid :path value.' },
  MethodNotAllowed: { status: 405, meaning: 'The specified :method value isn’t POST.' },
  ExpiredToken: { status: 410, meaning: 'The device token has expired.' },
  Unregistered: { status: 410, meaning: 'The device token is inactive for the specified topic.' },
  PayloadTooLarge: { status: 413, meaning: 'The message payload is too large.' },
  TooManyProviderTokenUpdates: {
    status: 429,
    meaning: 'The provider’s authentication token is being updated too often.',
  },
  TooManyRequests: {
    status: 429,
    meaning: 'Too many requests were made consecutively to the same device token.',
  },
  InternalServerError: { status: 500, meaning: 'An internal server error occurred.' },
  ServiceUnavailable: { status: 503, meaning: 'The service is unavailable.' },
  Shutdown: { status: 503, meaning: 'The APNs server is shutting down.' },
} as const satisfies Record<string, { status: number; meaning: string }>;

/** A reason string exactly as APNs writes it in `{"reason": ...}`. */
export type ApnsReason = keyof typeof APNS_REASONS;

/** The HTTP status APNs pairs with `reason`. */
export function statusOf(reason: ApnsReason): number {
  return APNS_REASONS[reason].status;
}
