/**
 * API keys: `Authorization: Bearer <key>` on every route but `/healthz` (and the routes the
 * operator lists in `server.public`). The config holds only each key's SHA-256; a presented
 * key is hashed and compared with every configured hash in constant time, so neither the
 * answer's timing nor the config file gives a key away.
 *
 * Why SHA-256 and not a slow hash: the keys are 256 random bits made by `pushline key`, not
 * passwords a person chose — no dictionary to try — and a slow hash on every request would
 * hand an attacker a cheap way to burn the server's CPU.
 *
 * A key is scoped to apps (or `*`) and to permissions: `send` (create and abort sends) and
 * `read` (sends' status and feedback, stats). 401 when no valid key is presented, 403 when the
 * key is valid but not allowed.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PushError } from '../errors.js';
import { HttpError } from './http-error.js';
import { type ApiKeyOptions, PERMISSIONS, type Permission, type RateLimit } from './options.js';

const HASH = /^sha256:([0-9a-f]{64})$/;
const KEY_PREFIX = 'pl_';

/** A key as a request presents it, once recognised: never the key itself. */
export interface ApiKeyIdentity {
  /** Its name in `apiKeys`: logged and recorded as `submittedBy`. */
  readonly id: string;
  /** Its apps, or `'*'` for every app. */
  readonly apps: ReadonlySet<string> | '*';
  readonly permissions: ReadonlySet<Permission>;
  readonly defaultApp: string | undefined;
  readonly rateLimit: RateLimit | undefined;
}

/**
 * What a route needs: a permission, `'any'` (any valid key: `/version`, `/openapi.json`), or
 * `'public'` (no key). Routes say it in their `config.permission`; a route that says nothing
 * needs `read` for GET/HEAD and `send` for anything else.
 */
export type RouteAccess = Permission | 'any' | 'public';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's API key, once the auth hook recognised it; null on a public route. */
    apiKey: ApiKeyIdentity | null;
  }
  interface FastifyContextConfig {
    permission?: RouteAccess;
  }
}

/** The config value for a key: `sha256:<hex>`. */
export function hashApiKey(key: string): string {
  return `sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** A new random key (`pl_` + 256 bits, base64url) and the hash to put in the config. */
export function generateApiKey(): { key: string; hash: string } {
  const key = `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { key, hash: hashApiKey(key) };
}

/** Checks one key's options; returns the problem (naming the field, never a value), or undefined. */
export function apiKeyProblem(
  id: string,
  options: ApiKeyOptions,
  apps: readonly string[],
): string | undefined {
  const where = `apiKeys.${id}`;
  if (typeof options.hash !== 'string' || !HASH.test(options.hash)) {
    return `${where}.hash must be "sha256:" and 64 lowercase hex digits, as pushline key prints it (the key itself never goes in the config)`;
  }
  if (!Array.isArray(options.apps) || options.apps.length === 0) {
    return `${where}.apps must list the apps the key may use (or ["*"] for every app)`;
  }
  for (const app of options.apps) {
    if (app !== '*' && !apps.includes(app)) {
      return `${where}.apps names the app '${app}', which is not in apps (known: ${apps.join(', ') || 'none'})`;
    }
  }
  if (!Array.isArray(options.permissions) || options.permissions.length === 0) {
    return `${where}.permissions must list "send", "read" or both`;
  }
  for (const permission of options.permissions) {
    if (!PERMISSIONS.includes(permission)) {
      return `${where}.permissions has '${String(permission)}'; a key may have "send" and "read"`;
    }
  }
  if (options.defaultApp !== undefined) {
    if (
      !options.apps.includes(options.defaultApp) &&
      !(options.apps.includes('*') && apps.includes(options.defaultApp))
    ) {
      return `${where}.defaultApp '${options.defaultApp}' is not one of the key's apps`;
    }
  }
  return undefined;
}

interface StoredKey {
  identity: ApiKeyIdentity;
  digest: Buffer;
}

/** The configured keys, ready to recognise a presented one. */
export class ApiKeyring {
  private readonly keys: StoredKey[];

  /** Throws a `config` PushError naming the field for a malformed key entry (see {@link apiKeyProblem}). */
  constructor(keys: Readonly<Record<string, ApiKeyOptions>>, apps: readonly string[]) {
    this.keys = Object.entries(keys).map(([id, options]) => {
      const problem = apiKeyProblem(id, options, apps);
      if (problem !== undefined) throw new PushError('config', problem);
      const everyApp = options.apps.includes('*');
      const defaultApp =
        options.defaultApp ?? (!everyApp && options.apps.length === 1 ? options.apps[0] : undefined);
      return {
        digest: Buffer.from(HASH.exec(options.hash)![1]!, 'hex'),
        identity: {
          id,
          apps: everyApp ? '*' : new Set(options.apps),
          permissions: new Set(options.permissions),
          defaultApp,
          rateLimit: options.rateLimit,
        },
      };
    });
  }

  get size(): number {
    return this.keys.length;
  }

  /**
   * The identity of a presented key, or undefined. Every configured digest is compared, all
   * of the same length, with `timingSafeEqual`: the time taken does not depend on which key
   * matched or on how much of a wrong key was right.
   */
  identify(presented: string): ApiKeyIdentity | undefined {
    const digest = createHash('sha256').update(presented, 'utf8').digest();
    let found: ApiKeyIdentity | undefined;
    for (const key of this.keys) {
      if (timingSafeEqual(key.digest, digest) && found === undefined) found = key.identity;
    }
    return found;
  }
}

/** Whether a key may use an app. */
export function keyAllowsApp(key: ApiKeyIdentity, app: string): boolean {
  return key.apps === '*' || key.apps.has(app);
}

/**
 * The app a request acts on: the one it names, else its key's default app. A 400 when it
 * names none and the key has no default, a 404 for an app the config doesn't have, a 403 for
 * an app the key may not use. Exported for every route that acts on an app (the gorush routes too).
 */
export function resolveApp(
  request: FastifyRequest,
  named: string | undefined,
  apps: Readonly<Record<string, unknown>>,
  field = 'body.app',
): string {
  const key = request.apiKey;
  const app = named ?? key?.defaultApp ?? (Object.keys(apps).length === 1 ? Object.keys(apps)[0] : undefined);
  if (app === undefined) {
    throw new HttpError(
      400,
      'invalid-request',
      `name the app in ${field}: this key has no default app (apiKeys.<id>.defaultApp) and the server has several`,
      field,
    );
  }
  if (!Object.hasOwn(apps, app)) {
    throw new HttpError(404, 'unknown-app', `no app named '${app}' in this server's config`, field);
  }
  if (key !== null && !keyAllowsApp(key, app)) {
    throw new HttpError(403, 'forbidden', `this API key may not use the app '${app}'`, field);
  }
  return app;
}

/**
 * Refuses (403) a request that would act on an app its key may not use: for routes that act
 * on several apps at once (gorush's `/api/push`, whose notifications choose their apps), as
 * `GorushDeps.authorize`. A request on a public route (no key) is not refused here.
 */
export function authorizeApps(request: FastifyRequest, apps: readonly string[]): void {
  const key = request.apiKey;
  if (key === null) return;
  const refused = apps.find((app) => !keyAllowsApp(key, app));
  if (refused !== undefined) {
    throw new HttpError(403, 'forbidden', `this API key may not use the app '${refused}'`);
  }
}

/** The access a route needs (see {@link RouteAccess}). */
export function routeAccess(request: FastifyRequest, publicRoutes: ReadonlySet<string>): RouteAccess {
  const url = request.routeOptions.url;
  if (url !== undefined && publicRoutes.has(url)) return 'public';
  const configured = request.routeOptions.config?.permission;
  if (configured !== undefined) return configured;
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'send';
}

/** The bearer key of a request, or undefined when there is no `Authorization: Bearer` header. */
function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

/**
 * Adds the auth hook: runs first on every request (before the body is read, before the rate
 * limit, which counts per key). Routes that match nothing are left to the 404 handler.
 */
export function registerAuth(
  app: FastifyInstance,
  keyring: ApiKeyring,
  publicRoutes: ReadonlySet<string>,
): void {
  app.decorateRequest('apiKey', null);
  app.addHook('onRequest', async (request, reply) => {
    if (request.is404) return;
    const access = routeAccess(request, publicRoutes);
    if (access === 'public') return;
    const presented = bearer(request);
    if (presented === undefined) {
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError(
        401,
        'missing-key',
        'this route needs an API key: send it as "Authorization: Bearer <key>" (make one with pushline key)',
      );
    }
    const key = keyring.identify(presented);
    if (key === undefined) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      throw new HttpError(401, 'invalid-key', 'the API key is not valid for this server');
    }
    request.apiKey = key;
    if (access !== 'any' && !key.permissions.has(access)) {
      throw new HttpError(403, 'forbidden', `this API key lacks the '${access}' permission this route needs`);
    }
  });
}
