/**
 * The --help of `pushline serve` and `pushline worker` takes the variables and defaults of the
 * fields they share with the config file from the one schema (src/config/), so a field is
 * spelled in one place: a changed variable or default shows in --help without another edit.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { buildProgram } from '../../src/cli/program.js';
import { REDIS_SECTION } from '../../src/config/redis.js';
import { variablesOf } from '../../src/config/schema.js';
import { SERVER_SECTION } from '../../src/config/server.js';

function helpOf(name: string): string {
  const io = {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    stdin: new PassThrough(),
    env: {},
    stderrIsTTY: false,
    signal: new AbortController().signal,
  };
  const command = buildProgram(io, () => {}).commands.find((c) => c.name() === name);
  assert.ok(command, name);
  let text = '';
  command.configureOutput({ writeOut: (chunk) => (text += chunk) });
  command.outputHelp();
  return text.replace(/\s+/g, ' ');
}

test('serve --help: the server section variables and the listener defaults, from the schema', () => {
  const help = helpOf('serve');
  const { host, port } = SERVER_SECTION.fields;
  for (const variable of [...variablesOf(host), ...variablesOf(port)])
    assert.ok(help.includes(variable), variable);
  assert.ok(help.includes(`(default: ${host.default};`), help);
  assert.ok(help.includes(`(default: ${port.default},`), help);
  for (const variable of variablesOf(REDIS_SECTION.fields.url)) assert.ok(help.includes(variable), variable);
});

test('worker --help: the Redis variable and the defaults of the redis section, from the schema', () => {
  const help = helpOf('worker');
  const { url, concurrency, metricsHost } = REDIS_SECTION.fields;
  for (const variable of variablesOf(url)) assert.ok(help.includes(variable), variable);
  assert.ok(help.includes(`(default: redis.concurrency, ${concurrency.default})`), help);
  assert.ok(help.includes(`(default: redis.metricsHost, ${metricsHost.default})`), help);
});
