import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { cleartextProblem, isLoopbackHost } from '../src/https-only.js';
import { webPush } from '../src/providers/webpush/index.js';
import {
  jsonSyntaxProblem,
  looksSecret,
  maskUrl,
  quoteValue,
  redactText,
  secretDescription,
  urlHasSecret,
} from '../src/redact.js';
import { resolveOptions } from '../src/transport/options.js';

const p8 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const body = (pem: string) =>
  pem
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('-----'))
    .join('');

describe('redact: what looks like key material', () => {
  it('describes PEM blocks, JSON credentials and key-length blobs without their content', () => {
    assert.equal(secretDescription(p8), "a PEM 'PRIVATE KEY' block");
    assert.equal(secretDescription(Buffer.from(p8)), "a PEM 'PRIVATE KEY' block");
    assert.equal(
      secretDescription(JSON.stringify({ type: 'service_account', private_key: p8 })),
      'JSON text holding a private key',
    );
    assert.match(secretDescription(body(p8)) ?? '', /^base64 text of \d+ characters$/);
    // As a variable carries it: literal \n between the base64 lines.
    assert.match(secretDescription(body(p8).replace(/(.{64})/g, '$1\\n')) ?? '', /^base64 text/);
    assert.match(secretDescription(randomBytes(32).toString('hex')) ?? '', /^hex text of 64/);
  });

  it('flags every .p8 body and 32-byte base64url key of a few hundred random ones', () => {
    for (let i = 0; i < 300; i++) {
      const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        .privateKey.export({ type: 'pkcs8', format: 'pem' })
        .toString();
      assert.ok(looksSecret(body(key)), body(key));
      const raw = randomBytes(32).toString('base64url');
      // Base64url without a single digit or capital is not taken for a key: rare, skip it.
      if (/[0-9]/.test(raw) && /[A-Z]/.test(raw) && /[a-z]/.test(raw)) assert.ok(looksSecret(raw), raw);
    }
  });

  it('does not take paths, words or identifiers for keys', () => {
    for (const value of [
      '/tmp/pushline-cli-errors-Xy1Ab2/nope/AuthKey',
      '/tmp/pushline-apns-options-4Rz9Qk/AuthKey_KEY1234567',
      '/home/runner/work/MyApp2/MyApp2/credentials/AuthKey',
      'AuthKey_ABC123DEFG.p8',
      'service-account.json',
      'com.example.app',
      'ABCDE12345',
      'APNS_PRIVATE_KEY',
      'correct horse battery staple',
    ]) {
      assert.equal(secretDescription(value), undefined, value);
    }
  });

  it('quotes harmless values, describes secret ones, shortens long ones', () => {
    assert.equal(quoteValue('com.ex app'), '"com.ex app"');
    assert.equal(quoteValue(p8), "a PEM 'PRIVATE KEY' block (not shown)");
    assert.equal(quoteValue('x'.repeat(500)), 'a string of 500 characters');
    assert.equal(quoteValue('https://u:pw@h/'), '"https://u:***@h/"');
  });
});

describe('redact: URLs', () => {
  it('masks the userinfo password and secret query parameters', () => {
    assert.equal(maskUrl('postgres://u:pw@h:5432/db'), 'postgres://u:***@h:5432/db');
    assert.equal(
      maskUrl('postgres://u@h/db?sslmode=require&password=pw&sslpassword=x'),
      'postgres://u@h/db?sslmode=require&password=***&sslpassword=***',
    );
    assert.equal(maskUrl('postgresql://h/db?user=u&pass=pw'), 'postgresql://h/db?user=u&pass=***');
    assert.equal(maskUrl('postgres://u@h/db?application_name=x'), 'postgres://u@h/db?application_name=x');
    assert.equal(maskUrl('sqlite:app.db'), 'sqlite:app.db');
    // Not parseable as a URL: masked by pattern.
    assert.equal(maskUrl('postgres://u:p w@h/db?password=a b'), 'postgres://u:***@h/db?password=***');
    assert.ok(urlHasSecret('postgres://u@h/db?password=pw'));
    assert.ok(!urlHasSecret('postgres://u@h/db'));
  });
});

describe('redact: free text', () => {
  it('scrubs PEM blocks, JSON private keys, URL passwords and key blobs; keeps paths', () => {
    const stack = [
      `Error: bad ${p8}`,
      `  "private_key": "${body(p8)}", "client_email": "x@y"`,
      '  connecting to postgres://u:hunter2@db/app',
      `  got ${body(p8)}`,
      '    at readFile (file:///work/wt/src/providers/apns/options.ts:10:3)',
      '    at /tmp/pushline-cli-errors-Xy1Ab2/nope/AuthKey.p8',
    ].join('\n');
    const text = redactText(stack);
    assert.ok(!text.includes(body(p8).slice(30, 60)), text);
    assert.ok(!text.includes('hunter2'), text);
    assert.match(text, /\[PEM block not shown\]/);
    assert.match(text, /"private_key": "\[not shown\]"/);
    assert.match(text, /file:\/\/\/work\/wt\/src\/providers\/apns\/options\.ts:10:3/);
    assert.match(text, /\/tmp\/pushline-cli-errors-Xy1Ab2\/nope\/AuthKey\.p8/);
  });

  it('says where JSON is malformed without quoting it', () => {
    const text = `{"private_key": "${body(p8)}" oops}`;
    let message = '';
    try {
      JSON.parse(text);
    } catch (error) {
      message = jsonSyntaxProblem(text, error);
    }
    assert.match(message, /^it is not valid JSON/);
    assert.ok(!message.includes(body(p8).slice(-20)), message);
  });
});

describe('https only', () => {
  it('knows the loopback hosts', () => {
    for (const host of ['localhost', 'a.localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) {
      assert.ok(isLoopbackHost(host), host);
    }
    for (const host of ['10.0.0.1', 'example.com', 'localhost.example.com', '[::2]', '128.0.0.1']) {
      assert.ok(!isLoopbackHost(host), host);
    }
  });

  it('allows http:// only to loopback, and only when the option says so', () => {
    assert.equal(cleartextProblem(new URL('https://example.com'), 'endpoint', false), undefined);
    assert.match(
      cleartextProblem(new URL('http://example.com'), 'endpoint', true) ?? '',
      /endpoint must be an https:\/\/ URL: http:\/\/ would send .* cleartext to example\.com/,
    );
    assert.match(
      cleartextProblem(new URL('http://127.0.0.1:8080'), 'endpoint', false) ?? '',
      /allowInsecureLoopback: true/,
    );
    assert.equal(cleartextProblem(new URL('http://127.0.0.1:8080'), 'endpoint', true), undefined);
    assert.equal(cleartextProblem(new URL('http://[::1]:8080'), 'endpoint', true), undefined);
    assert.match(cleartextProblem(new URL('ftp://x'), 'endpoint', true) ?? '', /https:\/\//);
  });
});

describe('other places a value was echoed', () => {
  it('a key given as the VAPID subject, a password in a proxy URL that does not parse', () => {
    const keys = { publicKey: 'B'.padEnd(87, 'A'), privateKey: 'A'.repeat(43) };
    assert.throws(
      () => webPush({ vapid: { subject: p8, ...keys } }),
      (e: Error) => {
        assert.match(e.message, /vapid\.subject is not a URL: a PEM 'PRIVATE KEY' block \(not shown\)/);
        assert.ok(!e.message.includes(body(p8).slice(20, 40)), e.message);
        return true;
      },
    );
    assert.throws(
      () => resolveOptions({ origin: 'https://example.com', proxy: 'http://user:hunter2@proxy host:3128' }),
      (e: Error) => {
        assert.match(e.message, /transport proxy is not a URL: http:\/\/user:\*\*\*@/);
        assert.ok(!e.message.includes('hunter2'), e.message);
        return true;
      },
    );
  });
});
