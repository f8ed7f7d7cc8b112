/**
 * Micro-benchmark of the per-message ECDH of Web Push (RFC 8291: a fresh ephemeral P-256 key
 * per message, never reused): node:crypto createECDH vs generateKeyPairSync + diffieHellman vs
 * WebCrypto (crypto.subtle, which runs on libuv's thread pool). Prints ops/s and main-thread
 * CPU per 10k.
 *
 *   node --import tsx bench/micro/ecdh.ts [n]
 */
import {
  createECDH,
  createPublicKey,
  diffieHellman,
  generateKeyPair,
  generateKeyPairSync,
  webcrypto,
} from 'node:crypto';
import { promisify } from 'node:util';

const n = Number(process.argv[2] ?? 5000);
const receiver = createECDH('prime256v1');
receiver.generateKeys();
const receiverPoint = receiver.getPublicKey();
// SubjectPublicKeyInfo DER for an uncompressed P-256 point: a fixed 26-byte prefix + the point.
const SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

async function measure(name: string, fn: () => unknown | Promise<unknown>, concurrency = 1): Promise<void> {
  for (let i = 0; i < 200; i++) await fn();
  const cpu = process.cpuUsage();
  const t = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await fn();
    }),
  );
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  const c = process.cpuUsage(cpu);
  console.log(
    `${name.padEnd(58)} ${Math.round(n / s)
      .toString()
      .padStart(7)} ops/s   process CPU ${(((c.user + c.system) / 1e6) * (10_000 / n)).toFixed(2)} s/10k`,
  );
}

await measure('createECDH + generateKeys + computeSecret', () => {
  const e = createECDH('prime256v1');
  const pub = e.generateKeys();
  return [pub, e.computeSecret(receiverPoint)];
});
await measure('generateKeyPairSync + diffieHellman (spki import)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const peer = createPublicKey({
    key: Buffer.concat([SPKI_PREFIX, receiverPoint]),
    format: 'der',
    type: 'spki',
  });
  return [publicKey.export({ format: 'der', type: 'spki' }), diffieHellman({ privateKey, publicKey: peer })];
});
const generateKeyPairAsync = promisify(generateKeyPair);
await measure(
  'generateKeyPair (thread pool) + diffieHellman, 64 at once',
  async () => {
    const { privateKey, publicKey } = await generateKeyPairAsync('ec', { namedCurve: 'prime256v1' });
    const peer = createPublicKey({
      key: Buffer.concat([SPKI_PREFIX, receiverPoint]),
      format: 'der',
      type: 'spki',
    });
    return [
      publicKey.export({ format: 'der', type: 'spki' }),
      diffieHellman({ privateKey, publicKey: peer }),
    ];
  },
  64,
);
const subtle = webcrypto.subtle;
const ecdh = { name: 'ECDH', namedCurve: 'P-256' } as const;
await measure(
  'crypto.subtle generateKey + importKey + deriveBits, 64 at once',
  async () => {
    const pair = (await subtle.generateKey(ecdh, true, ['deriveBits'])) as webcrypto.CryptoKeyPair;
    const peer = await subtle.importKey('raw', receiverPoint, ecdh, false, []);
    const bits = await subtle.deriveBits({ name: 'ECDH', public: peer }, pair.privateKey, 256);
    const raw = await subtle.exportKey('raw', pair.publicKey);
    return [bits, raw];
  },
  64,
);
