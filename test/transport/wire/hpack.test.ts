/** HPACK codec against RFC 7541 Appendix C (C.3–C.6), plus the edge cases a decoder must refuse. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompressionError, HpackDecoder } from '../../../src/transport/wire/hpack-decoder.js';
import { ByteWriter, HpackEncoder } from '../../../src/transport/wire/hpack-encoder.js';
import { huffmanDecode } from '../../../src/transport/wire/huffman.js';
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from '../../../src/transport/wire/huffman-table.js';

/** A plain Huffman encoder for the tests (RFC 7541 §5.2): codes MSB first, padded with ones. */
function huffmanEncode(octets: Uint8Array): Buffer {
  const out: number[] = [];
  let acc = 0n;
  let bits = 0n;
  for (const octet of octets) {
    acc = (acc << BigInt(HUFFMAN_LENGTHS[octet]!)) | BigInt(HUFFMAN_CODES[octet]!);
    bits += BigInt(HUFFMAN_LENGTHS[octet]!);
    while (bits >= 8n) {
      bits -= 8n;
      out.push(Number((acc >> bits) & 0xffn));
    }
  }
  if (bits > 0n) out.push(Number(((acc << (8n - bits)) | ((1n << (8n - bits)) - 1n)) & 0xffn));
  return Buffer.from(out);
}

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function decodeAll(decoder: HpackDecoder, block: Buffer): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  decoder.decode(block, 0, block.length, (name, value) => fields.push([name, value]));
  return fields;
}

// RFC 7541 C.3 / C.4: three requests on one connection.
const REQUESTS: Array<Array<[string, string]>> = [
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ],
  [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ],
  [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ],
];
const C3 = [
  '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
  '8286 84be 5808 6e6f 2d63 6163 6865',
  '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
];
const C4 = [
  '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
  '8286 84be 5886 a8eb 1064 9cbf',
  '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
];
const REQUEST_TABLES: Array<Array<[string, string]>> = [
  [[':authority', 'www.example.com']],
  [
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ],
  [
    ['custom-key', 'custom-value'],
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ],
];
const REQUEST_SIZES = [57, 110, 164];

// RFC 7541 C.5 / C.6: three responses, table size 256, with eviction.
const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOCATION = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RESPONSES: Array<Array<[string, string]>> = [
  [
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', DATE1],
    ['location', LOCATION],
  ],
  [
    [':status', '307'],
    ['cache-control', 'private'],
    ['date', DATE1],
    ['location', LOCATION],
  ],
  [
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', DATE2],
    ['location', LOCATION],
    ['content-encoding', 'gzip'],
    ['set-cookie', COOKIE],
  ],
];
const C5 = [
  `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a
   3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
  '4803 3330 37c1 c0bf',
  `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04
   677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49
   553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
];
const C6 = [
  `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e
   919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
  '4883 640e ffc1 c0bf',
  `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7
   821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed
   4ee5 b106 3d50 07`,
];
const RESPONSE_TABLES: Array<Array<[string, string]>> = [
  [
    ['location', LOCATION],
    ['date', DATE1],
    ['cache-control', 'private'],
    [':status', '302'],
  ],
  [
    [':status', '307'],
    ['location', LOCATION],
    ['date', DATE1],
    ['cache-control', 'private'],
  ],
  [
    ['set-cookie', COOKIE],
    ['content-encoding', 'gzip'],
    ['date', DATE2],
  ],
];
const RESPONSE_SIZES = [222, 222, 215];

describe('HPACK decoder (RFC 7541 Appendix C)', () => {
  for (const [label, blocks] of [
    ['C.3 requests without Huffman', C3],
    ['C.4 requests with Huffman', C4],
  ] as const) {
    it(label, () => {
      const decoder = new HpackDecoder();
      blocks.forEach((block, i) => {
        assert.deepEqual(decodeAll(decoder, hex(block)), REQUESTS[i]);
        assert.deepEqual(decoder.entries, REQUEST_TABLES[i]);
        assert.equal(decoder.tableSize, REQUEST_SIZES[i]);
      });
    });
  }

  for (const [label, blocks] of [
    ['C.5 responses without Huffman (table 256, eviction)', C5],
    ['C.6 responses with Huffman (table 256, eviction)', C6],
  ] as const) {
    it(label, () => {
      const decoder = new HpackDecoder(256);
      blocks.forEach((block, i) => {
        assert.deepEqual(decodeAll(decoder, hex(block)), RESPONSES[i]);
        assert.deepEqual(decoder.entries, RESPONSE_TABLES[i]);
        assert.equal(decoder.tableSize, RESPONSE_SIZES[i]);
      });
    });
  }

  it('decodes prefix integers (C.1): one octet, multi-octet, size updates', () => {
    // Indexed field 10 is static :status 206; 1337 (C.1.2's value, here in a 7-bit prefix) is not in the table.
    const decoder = new HpackDecoder();
    assert.deepEqual(decodeAll(decoder, hex('8a')), [[':status', '206']]);
    assert.throws(() => decodeAll(decoder, hex('ff ba 09')), /index 1337 /);
    // A size update to 0 then 42 (5-bit prefix, fits): both legal at block start.
    assert.deepEqual(decodeAll(decoder, hex('20 3f 0b')), []);
  });

  it('applies table size updates and refuses them above the limit or after a field', () => {
    const decoder = new HpackDecoder(256);
    decodeAll(decoder, hex(C5[0]!));
    assert.equal(decoder.tableSize, 222);
    decodeAll(decoder, hex('20')); // size 0 empties the table
    assert.equal(decoder.tableSize, 0);
    assert.throws(() => decodeAll(decoder, hex('3fe201')), CompressionError); // 257 > 256
    assert.throws(() => decodeAll(decoder, hex('8220')), CompressionError);
  });

  it('refuses index 0, unknown indices, truncated strings and bad Huffman padding', () => {
    const decoder = new HpackDecoder();
    assert.throws(() => decodeAll(decoder, hex('80')), CompressionError);
    assert.throws(() => decodeAll(decoder, hex('be')), CompressionError);
    assert.throws(() => decodeAll(decoder, hex('0f 0a 41')), CompressionError);
    // 'a' is 00011 (5 bits): padding with zeros instead of ones is invalid.
    assert.throws(() => decodeAll(decoder, hex('04 81 18')), CompressionError);
    // A whole byte of padding (8 ones) after a symbol is invalid too.
    assert.throws(() => decodeAll(decoder, hex('04 82 1f ff')), CompressionError);
  });

  it('Huffman-decodes every octet value, alone and in runs', () => {
    for (let octet = 0; octet < 256; octet++) {
      const one = huffmanEncode(Uint8Array.of(octet));
      assert.equal(huffmanDecode(one, 0, one.length), String.fromCharCode(octet), `octet ${octet}`);
    }
    const all = Uint8Array.from({ length: 2048 }, (_, i) => (i * 131 + (i >> 3)) % 256);
    const encoded = huffmanEncode(all);
    assert.equal(huffmanDecode(encoded, 0, encoded.length), Buffer.from(all).toString('latin1'));
    // 'www.example.com' from C.4.1, and the EOS code inside a string is refused.
    assert.equal(huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff'), 0, 12), 'www.example.com');
    assert.throws(() => huffmanDecode(hex('ffff ffff'), 0, 4), /contains EOS/);
  });
});

describe('HPACK encoder', () => {
  it('produces C.3 byte for byte (incremental indexing, then references)', () => {
    const encoder = new HpackEncoder();
    const w = new ByteWriter();
    REQUESTS.forEach((fields, i) => {
      encoder.beginBlock(w);
      for (const [name, value] of fields) encoder.field(w, name, value, 'incremental');
      assert.equal(w.take().toString('hex'), C3[i]!.replace(/\s+/g, ''));
    });
  });

  it('produces C.5 byte for byte with a 256-octet table (eviction)', () => {
    const encoder = new HpackEncoder();
    const w = new ByteWriter();
    encoder.setMaxSize(256);
    encoder.beginBlock(w);
    assert.equal(w.take().toString('hex'), '3fe101'); // the size update (§6.3): 256 in a 5-bit prefix
    RESPONSES.forEach((fields, i) => {
      encoder.beginBlock(w);
      for (const [name, value] of fields) encoder.field(w, name, value, 'incremental');
      assert.equal(w.take().toString('hex'), C5[i]!.replace(/\s+/g, ''));
    });
  });

  it('round-trips through the decoder and costs one byte per repeated field', () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    const w = new ByteWriter();
    const fields: Array<[string, string]> = [
      [':method', 'POST'],
      [':scheme', 'https'],
      [':authority', 'api.push.apple.com'],
      ['apns-topic', 'com.example.app'],
      ['apns-push-type', 'alert'],
      ['authorization', `bearer ${'x'.repeat(300)}`],
    ];
    for (let round = 0; round < 3; round++) {
      encoder.beginBlock(w);
      for (const [name, value] of fields) encoder.field(w, name, value, 'incremental');
      w.integer(4, 4, 0x00); // :path, literal without indexing
      w.string(`/3/device/${round}`);
      const block = w.take();
      assert.deepEqual(decodeAll(decoder, block), [...fields, [':path', `/3/device/${round}`]]);
      if (round > 0) assert.equal(block.length, fields.length + 2 + `/3/device/${round}`.length);
    }
  });

  it('sends never-indexed and oversized fields as literals', () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    const w = new ByteWriter();
    encoder.field(w, 'x-secret', 'value', 'never');
    encoder.field(w, 'x-big', 'y'.repeat(3000), 'incremental');
    const block = w.take();
    assert.equal(block[0], 0x10);
    assert.deepEqual(decodeAll(decoder, block), [
      ['x-secret', 'value'],
      ['x-big', 'y'.repeat(3000)],
    ]);
    assert.equal(decoder.tableSize, 0);
  });
});

describe('HpackDecoder literal cache', () => {
  /** `date: <value>` as a literal without indexing (static name 33), Huffman or raw. */
  function dateField(value: string, huffman: boolean): Buffer {
    const octets = huffman ? huffmanEncode(Buffer.from(value, 'latin1')) : Buffer.from(value, 'latin1');
    return Buffer.concat([Buffer.from([0x0f, 33 - 15, (huffman ? 0x80 : 0) | octets.length]), octets]);
  }

  it('returns what decoding returns, for repeats and for near misses', () => {
    const decoder = new HpackDecoder();
    const a = 'Sat, 28 Nov 2026 21:55:00 GMT';
    const b = 'Sat, 28 Nov 2026 21:55:01 GMT';
    for (const huffman of [true, false]) {
      assert.deepEqual(decodeAll(decoder, dateField(a, huffman)), [['date', a]]);
      assert.deepEqual(decodeAll(decoder, dateField(a, huffman)), [['date', a]]);
      assert.deepEqual(decodeAll(decoder, dateField(b, huffman)), [['date', b]]);
      assert.deepEqual(decodeAll(decoder, dateField(a, huffman)), [['date', a]]);
    }
    // The same octets read raw after being read as Huffman are not the cached Huffman text.
    const octets = huffmanEncode(Buffer.from(a, 'latin1'));
    const raw = Buffer.concat([Buffer.from([0x0f, 33 - 15, octets.length]), octets]);
    assert.deepEqual(decodeAll(decoder, raw), [['date', octets.toString('latin1')]]);
  });

  it('decodes empty values, before and after the cache holds others', () => {
    const decoder = new HpackDecoder();
    for (const huffman of [false, true, false]) {
      assert.deepEqual(decodeAll(decoder, dateField('', huffman)), [['date', '']]);
      assert.deepEqual(decodeAll(decoder, dateField('x', huffman)), [['date', 'x']]);
    }
  });

  it('keeps every slot apart: many distinct values, then each again', () => {
    const decoder = new HpackDecoder();
    const values = Array.from({ length: 200 }, (_, i) => `v${i.toString(36)}-${'z'.repeat(i % 60)}`);
    for (const huffman of [true, false]) {
      for (const value of values)
        assert.deepEqual(decodeAll(decoder, dateField(value, huffman)), [['date', value]]);
      for (const value of values)
        assert.deepEqual(decodeAll(decoder, dateField(value, huffman)), [['date', value]]);
    }
  });

  it('still rejects a bad Huffman string after good ones of the same length', () => {
    const decoder = new HpackDecoder();
    const good = dateField('abcd', true);
    decodeAll(decoder, good);
    const bad = Buffer.from(good);
    bad.fill(0x00, 3); // all-zero bits: EOS-free padding rules broken / invalid code
    bad[bad.length - 1] = 0x00;
    assert.throws(() => decodeAll(decoder, bad), CompressionError);
  });
});
