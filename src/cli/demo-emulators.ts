/**
 * The demo's emulators, run in a worker thread: the emulators answer on one core while the
 * client sends from the other (the demo is CPU-bound on both sides: TLS, HTTP/2, JSON, and
 * Web Push's per-device encryption and decryption). The worker also fills the database, since
 * the dead tokens are chosen by the emulators' scenarios. Plain data crosses the thread
 * boundary: the providers' options and the counts.
 */
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { ApnsTokenProviderOptions } from '../emulator/apns/index.js';
import { type HmsEmulatorProviderOptions, startEmulator } from '../emulator/index.js';
import type { ServiceAccount } from '../providers/fcm/service-account.js';
import { createDemoDatabase, DEFAULT_SHARES, type DemoDatabase, type DemoShares } from './demo-db.js';

/** Tells this module, loaded in a worker, that it is the demo's emulator worker. */
const MARKER = 'pushlineDemoEmulators';

export interface DemoEmulatorsInput {
  dbPath: string;
  count: number;
  shares: DemoShares;
  seed: number;
}

export interface DemoEmulatorsReady {
  providerOptions: {
    apns: ApnsTokenProviderOptions;
    fcm: { serviceAccount: ServiceAccount; endpoint: string; ca: string };
    webpush: {
      vapid: { subject: string; publicKey: string; privateKey: string };
      allowHosts: string[];
      ca: string;
    };
    hms: HmsEmulatorProviderOptions;
  };
  created: DemoDatabase;
}

export interface DemoEmulators extends DemoEmulatorsReady {
  close(): Promise<void>;
}

/** Starts the worker and waits until the emulators listen and the database is filled. */
export async function startDemoEmulators(input: DemoEmulatorsInput): Promise<DemoEmulators> {
  const worker = workerForThisFile({ [MARKER]: true, ...input });
  try {
    const [ready] = (await once(worker, 'message')) as [DemoEmulatorsReady];
    return {
      ...ready,
      async close() {
        const exited = once(worker, 'exit');
        worker.postMessage('close');
        await exited;
      },
    };
  } catch (error) {
    await worker.terminate();
    throw error;
  }
}

/**
 * A worker running this same file. Compiled (.js) it is started directly. From source (.ts,
 * `npm start` runs through tsx) Node 20 does not apply tsx's loader to a worker's entry file,
 * so a one-line bootstrap registers tsx in the worker first, then imports this file.
 */
function workerForThisFile(data: Record<string, unknown>): Worker {
  const url = import.meta.url;
  if (!url.endsWith('.ts')) return new Worker(fileURLToPath(url), { workerData: data });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}

async function serve(input: DemoEmulatorsInput): Promise<void> {
  const emulator = await startEmulator({
    apns: {
      record: false,
      scenarios: { unregistered: { rate: input.shares.deadIos ?? DEFAULT_SHARES.deadIos } },
    },
    fcm: { maxRecorded: 0 },
    webpush: { maxMessages: 0 },
    hms: { maxRecorded: 0 },
  });
  const created = createDemoDatabase(input.dbPath, input.count, emulator, {
    shares: input.shares,
    seed: input.seed,
  });
  const ready: DemoEmulatorsReady = {
    providerOptions: {
      apns: emulator.apns.providerOptions as ApnsTokenProviderOptions,
      fcm: emulator.fcm.providerOptions,
      webpush: emulator.webpush.providerOptions,
      hms: emulator.hms.providerOptions,
    },
    created,
  };
  parentPort!.once('message', () => {
    void emulator.close().then(() => parentPort!.close());
  });
  parentPort!.postMessage(ready);
}

if (!isMainThread && parentPort && (workerData as Record<string, unknown> | undefined)?.[MARKER] === true) {
  await serve(workerData as DemoEmulatorsInput);
}
