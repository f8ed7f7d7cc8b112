/** Store messages that reach `pushline send` name its flags, not the library's options. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inCliTerms } from '../../src/cli/cli-terms.js';
import { rowMapper } from '../../src/stores/columns.js';
import { StoreError } from '../../src/stores/errors.js';

/** The message of the StoreError `fn` throws. */
function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof StoreError, String(error));
    return error.message;
  }
  assert.fail('no StoreError was thrown');
}

test("the columns hints name --token-column, --platform-column and --platform (the stores' own words)", () => {
  const token = inCliTerms(messageOf(() => rowMapper(['id', 'os'], {}, 'the query')));
  assert.match(token, /name yours with --token-column <column>, or alias it/);
  const platform = inCliTerms(messageOf(() => rowMapper(['id', 'token'], {}, 'the query')));
  assert.match(platform, /--platform-column <column>.*or give --platform ios\|android\|web\|huawei when/);
  assert.doesNotMatch(`${token} ${platform}`, /columns: \{|platform: '/);
});

test('sink options and names become the --apply-feedback flags', () => {
  assert.equal(
    inCliTerms(
      "sqlite:x.db: an invalid-token feedback's device has no 'id' field, so its row cannot be found; select the key column in the device source's query (or set keyField)",
    ),
    "sqlite:x.db: an invalid-token feedback's device has no 'id' field, so its row cannot be found; select it in --query (or name the right column with --key-column)",
  );
  assert.equal(
    inCliTerms("sqliteFeedbackSink: mode 'mark' needs markColumn (e.g. 'invalidated_at')"),
    "mode 'mark' needs --mark-column (e.g. 'invalidated_at')",
  );
  assert.equal(
    inCliTerms("a sqlite source needs a query, e.g. query: 'SELECT id, platform, token FROM devices'"),
    "a sqlite source needs a query, e.g. --query 'SELECT id, platform, token FROM devices'",
  );
});
