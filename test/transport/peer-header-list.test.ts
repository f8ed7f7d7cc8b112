/**
 * A server's SETTINGS_MAX_HEADER_LIST_SIZE (issue #11): advisory in RFC 9113 §6.5.2, but a
 * server that sets it refuses larger requests. A request over it fails at once, clearly and
 * without being sent; requests under it go as usual.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPool } from '../../src/transport/index.js';
import { echo, H2_PROTOCOLS, rejection, startH2Server } from './helpers.js';

for (const protocol of H2_PROTOCOLS) {
  test(`a request over the server's SETTINGS_MAX_HEADER_LIST_SIZE fails without being sent (${protocol})`, async (t) => {
    let received = 0;
    const server = await startH2Server(
      (stream, body, headers) => {
        received++;
        echo(stream, body, headers);
      },
      { settings: { maxHeaderListSize: 600 } },
    );
    t.after(() => server.close());
    const pool = createPool({ origin: server.origin, protocol, tls: { ca: server.ca }, connections: 1 });
    t.after(() => pool.destroy());
    // The first request learns the server's settings; it is small.
    assert.equal((await pool.request({ path: '/', body: 'small' })).body.toString(), 'small');
    const error = await rejection(
      pool.request({ path: '/', headers: { authorization: `bearer ${'x'.repeat(700)}` }, body: 'big' }),
    );
    assert.equal(error.code, 'bad-request');
    assert.equal(error.reason, 'header-list-too-large');
    assert.equal(error.retryable, false);
    assert.match(error.message, /at most 600 bytes \(SETTINGS_MAX_HEADER_LIST_SIZE\)/);
    assert.equal(
      (await pool.request({ path: '/', headers: { authorization: 'bearer short' }, body: 'ok' })).status,
      200,
    );
    assert.equal(received, 2, 'the oversized request never reached the server');
  });
}
