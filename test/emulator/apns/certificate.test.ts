import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { after, before, describe, it } from 'node:test';
import { type ApnsEmulator, startApnsEmulator } from '../../../src/emulator/apns/index.js';
import { createCertificateAuthority, issueCertificate } from '../../../src/emulator/tls.js';
import { close, open, push } from './helpers.js';

describe('APNs emulator: certificate authentication', () => {
  let emulator: ApnsEmulator;

  before(async () => {
    emulator = await startApnsEmulator({ auth: 'certificate' });
  });
  after(() => emulator.close());

  it('accepts a push over a certificate issued for the topic, ignoring any authorization header', async () => {
    const cert = emulator.issueClientCertificate();
    const session = await open(emulator, { cert: cert.certPem, key: cert.keyPem });
    try {
      const res = await push(session, { headers: { authorization: 'bearer whatever' } });
      assert.equal(res.status, 200);
      const voip = await push(session, {
        body: '{"call":1}',
        headers: { 'apns-push-type': 'voip', 'apns-topic': 'com.example.app.voip' },
      });
      assert.equal(voip.status, 200);
    } finally {
      await close(session);
    }
  });

  it('providerOptions carry a ready client certificate', async () => {
    const options = emulator.providerOptions as {
      cert: string;
      key: string;
      endpoint: string;
      topic: string;
    };
    assert.equal(options.endpoint, emulator.origin);
    const session = await open(emulator, { cert: options.cert, key: options.key });
    try {
      assert.equal((await push(session)).status, 200);
    } finally {
      await close(session);
    }
  });

  it('the PKCS#12 bundle works as a client identity', async () => {
    const cert = emulator.issueClientCertificate();
    const session = await new Promise<ReturnType<typeof connect>>((resolve, reject) => {
      const s = connect(emulator.origin, { ca: emulator.ca, pfx: cert.pkcs12, passphrase: cert.passphrase });
      s.once('remoteSettings', () => resolve(s));
      s.once('error', reject);
    });
    try {
      assert.equal((await push(session)).status, 200);
    } finally {
      await close(session);
    }
  });

  it('400 BadTopic for a topic the certificate does not cover; 400 MissingTopic without one', async () => {
    const cert = emulator.issueClientCertificate({ topic: 'com.example.other' });
    const session = await open(emulator, { cert: cert.certPem, key: cert.keyPem });
    try {
      const res = await push(session);
      assert.equal(res.status, 400);
      assert.deepEqual(res.body, { reason: 'BadTopic' });
      const missing = await push(session, { headers: { 'apns-topic': undefined } });
      assert.deepEqual(missing.body, { reason: 'MissingTopic' });
      assert.equal((await push(session, { headers: { 'apns-topic': 'com.example.other' } })).status, 200);
    } finally {
      await close(session);
    }
  });

  it('403 MissingProviderToken without a client certificate', async () => {
    const session = await open(emulator);
    try {
      const res = await push(session, { headers: { authorization: 'bearer x.y.z' } });
      assert.equal(res.status, 403);
      assert.deepEqual(res.body, { reason: 'MissingProviderToken' });
    } finally {
      await close(session);
    }
  });

  it('drops a connection whose certificate is not from its CA, or expired', async () => {
    const before = emulator.stats().rejectedClientCertificates;
    const foreign = issueCertificate(createCertificateAuthority(), {
      commonName: 'Apple Push Services: com.example.app',
      subject: { UID: 'com.example.app' },
      usage: 'client',
    });
    const expired = emulator.issueClientCertificate({
      notBefore: new Date(Date.now() - 48 * 3600_000),
      notAfter: new Date(Date.now() - 24 * 3600_000),
    });
    for (const cert of [foreign, expired]) {
      const outcome = await new Promise<string>((resolve) => {
        const session = connect(emulator.origin, { ca: emulator.ca, cert: cert.certPem, key: cert.keyPem });
        session.on('error', () => {});
        session.once('close', () => resolve('closed'));
        const stream = session.request({ ':method': 'POST', ':path': `/3/device/${'ab'.repeat(32)}` });
        stream.on('error', () => {});
        stream.once('response', () => resolve('answered'));
        stream.end('{}');
      });
      assert.equal(outcome, 'closed');
    }
    assert.equal(emulator.stats().rejectedClientCertificates - before, 2);
  });
});
