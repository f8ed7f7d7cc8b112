/**
 * Every emulator at once, on 127.0.0.1: the stand-ins for Apple, Google and the browsers'
 * push services that pushline's tests, demo and benchmarks run against — and that users can
 * run their own integration tests against (`pushline emulate` does the same from a shell).
 *
 * @example
 * const emulator = await startEmulator();
 * const client = new PushClient({
 *   providers: [apns(emulator.apns.providerOptions), fcm(emulator.fcm.providerOptions), webPush(emulator.webpush.providerOptions)],
 * });
 * // … send, then inspect emulator.apns.notifications, emulator.fcm.messages, emulator.webpush.messages()
 * await client.close();
 * await emulator.close();
 */

import { PushError } from '../errors.js';
import { type ApnsEmulator, type ApnsEmulatorOptions, startApnsEmulator } from './apns/index.js';
import { type FcmEmulator, type FcmEmulatorOptions, startFcmEmulator } from './fcm/index.js';
import { startWebPushEmulator, type WebPushEmulator, type WebPushEmulatorOptions } from './webpush/index.js';

export type { ApnsEmulator, ApnsEmulatorOptions } from './apns/index.js';
export { startApnsEmulator } from './apns/index.js';
export type { FcmEmulator, FcmEmulatorOptions } from './fcm/index.js';
export { startFcmEmulator } from './fcm/index.js';
export { createCertificateAuthority, createServerTls, issueCertificate, toPkcs12 } from './tls.js';
export type { WebPushEmulator, WebPushEmulatorOptions } from './webpush/index.js';
export { startWebPushEmulator } from './webpush/index.js';

export interface EmulatorOptions {
  /** Options for the APNs emulator, or `false` not to start it. */
  apns?: ApnsEmulatorOptions | false;
  /** Options for the FCM emulator, or `false` not to start it. */
  fcm?: FcmEmulatorOptions | false;
  /** Options for the Web Push emulator, or `false` not to start it. */
  webpush?: WebPushEmulatorOptions | false;
}

export interface Emulator {
  /** Present unless `apns: false`. */
  readonly apns: ApnsEmulator;
  readonly fcm: FcmEmulator;
  readonly webpush: WebPushEmulator;
  /** Closes every emulator that was started. */
  close(): Promise<void>;
}

/**
 * Starts the emulators (all by default) and resolves once every one listens. Each carries
 * `providerOptions`: the ready options for its provider factory.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const started: Array<{ close(): Promise<void> }> = [];
  const track = async <T extends { close(): Promise<void> }>(starting: Promise<T>): Promise<T> => {
    const emulator = await starting;
    started.push(emulator);
    return emulator;
  };
  const closeAll = async () => {
    await Promise.all(started.map((emulator) => emulator.close()));
  };
  try {
    const [apns, fcm, webpush] = await Promise.all([
      options.apns === false ? undefined : track(startApnsEmulator(options.apns)),
      options.fcm === false ? undefined : track(startFcmEmulator(options.fcm)),
      options.webpush === false ? undefined : track(startWebPushEmulator(options.webpush)),
    ]);
    const absent = (name: string) => () => {
      throw new PushError(
        'config',
        `the ${name} emulator was not started (${name}: false): leave ${name} out to start it`,
      );
    };
    return {
      get apns() {
        return apns ?? absent('apns')();
      },
      get fcm() {
        return fcm ?? absent('fcm')();
      },
      get webpush() {
        return webpush ?? absent('webpush')();
      },
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
