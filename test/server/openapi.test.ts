/**
 * /openapi.json matches the routes: every route the server registers is in it (method and
 * path), with the very schemas Fastify validates that route's requests and answers with.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildServer } from '../../src/server/app.js';
import { createMetrics } from '../../src/server/metrics.js';
import { sendAcceptedSchema, sendStatusSchema } from '../../src/server/schemas.js';
import { API_KEYS, APPS, bearer, FakeDispatcher, KEYS } from './support.js';

interface Operation {
  parameters?: Array<{ in: string; name: string; required?: boolean; schema?: unknown }>;
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  security?: unknown[];
}

/** Fastify's `/v1/sends/:id` is OpenAPI's `/v1/sends/{id}`. */
const openapiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/** A schema as the document shows it: plain JSON, `$id`s and Fastify's additions aside. */
const plain = (schema: unknown) => JSON.parse(JSON.stringify(schema));

test('every registered route is in /openapi.json with its schemas', async (t) => {
  // As pushline serve builds it: with the metrics (/metrics), the gorush routes, the dashboard.
  const metrics = createMetrics({ processMetrics: false });
  t.after(() => metrics.close());
  const app = await buildServer({
    apiKeys: API_KEYS,
    apps: APPS,
    dispatcher: new FakeDispatcher(),
    version: '1.2.3',
    logger: false,
    metrics,
  });
  t.after(() => app.close());
  const answer = await app.inject({ method: 'GET', url: '/openapi.json', headers: bearer(KEYS.admin) });
  assert.equal(answer.statusCode, 200);
  const doc = answer.json() as {
    openapi: string;
    info: { version: string };
    paths: Record<string, Record<string, Operation>>;
  };
  assert.match(doc.openapi, /^3\./);
  assert.equal(doc.info.version, '1.2.3');

  // Every route of Fastify's own table (HEAD aside: Fastify adds one per GET) is documented.
  // The table is a tree: a line's depth is where its path starts, its path its parent's + its own.
  const registered: Array<[string, string]> = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^(.*?)(\/\S*) \(([A-Z, ]+)\)$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4 - 1;
    stack[depth] = (depth > 0 ? stack[depth - 1]! : '') + match[2]!;
    for (const method of match[3]!.split(', '))
      if (method !== 'HEAD') registered.push([method, stack[depth]!]);
  }
  assert.ok(registered.length >= 6, `routes found: ${JSON.stringify(registered)}`);
  for (const route of ['POST /api/push', 'GET /api/stat/app', 'GET /api/stat/go', 'GET /metrics']) {
    assert.ok(
      registered.some(([method, url]) => `${method} ${url}` === route),
      `${route} is served`,
    );
  }
  // The dashboard's HTML pages (/ui, /inbox) are not API: hidden from the document.
  const apiRoutes = registered.filter(([, url]) => !/^\/(ui|inbox)(\/|$)/.test(url));
  registered.splice(0, registered.length, ...apiRoutes);
  for (const [method, url] of registered) {
    const operation = doc.paths[openapiPath(url)]?.[method.toLowerCase()];
    assert.ok(operation, `${method} ${url} is missing from /openapi.json`);
  }
  // And nothing documented that is not served.
  const documented = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
  );
  assert.deepEqual(
    documented.sort(),
    registered.map(([method, url]) => `${method} ${openapiPath(url)}`).sort(),
  );

  // The schemas are the routes' own.
  const post = doc.paths['/v1/sends']!['post']!;
  assert.deepEqual(post.responses['202']!.content!['application/json']!.schema, plain(sendAcceptedSchema));
  const body = post.requestBody!.content['application/json']!.schema as {
    properties: Record<string, unknown>;
  };
  assert.deepEqual(Object.keys(body.properties).sort(), [
    'app',
    'delivery',
    'devices',
    'dryRun',
    'notification',
    'source',
  ]);
  assert.ok(post.requestBody!.content['application/x-ndjson'], 'the NDJSON body is documented');
  assert.ok(post.parameters?.some((p) => p.in === 'header' && p.name === 'idempotency-key'));
  const get = doc.paths['/v1/sends/{id}']!['get']!;
  assert.deepEqual(get.responses['200']!.content!['application/json']!.schema, plain(sendStatusSchema));
  assert.ok(get.parameters?.some((p) => p.in === 'path' && p.name === 'id' && p.required));
  const feedback = doc.paths['/v1/sends/{id}/feedback']!['get']!;
  assert.deepEqual(
    feedback.parameters
      ?.filter((p) => p.in === 'query')
      .map((p) => p.name)
      .sort(),
    ['follow', 'status'],
  );
  // Every route but /healthz declares the bearer key.
  for (const [method, url] of registered) {
    const operation = doc.paths[openapiPath(url)]![method.toLowerCase()]!;
    if (url === '/healthz') assert.equal(operation.security, undefined);
    else assert.deepEqual(operation.security, [{ apiKey: [] }], `${method} ${url} declares its key`);
  }
});

test('a route the operator makes public is documented without a key', async (t) => {
  const app = await buildServer({
    server: { public: ['/version'] },
    apiKeys: API_KEYS,
    apps: APPS,
    dispatcher: new FakeDispatcher(),
    version: '1.2.3',
    logger: false,
  });
  t.after(() => app.close());
  const doc = (
    await app.inject({ method: 'GET', url: '/openapi.json', headers: bearer(KEYS.admin) })
  ).json() as {
    paths: Record<string, Record<string, Operation>>;
  };
  assert.equal(doc.paths['/version']!['get']!.security, undefined);
  assert.deepEqual(doc.paths['/openapi.json']!['get']!.security, [{ apiKey: [] }]);
});
