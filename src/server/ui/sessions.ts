/**
 * The dashboard's logins: an API key typed into the login form is checked once, and what the
 * browser keeps is a random session id in a cookie (HttpOnly, SameSite=Strict, Secure over
 * https) — never the key, which stays nowhere (the session holds the key's identity: its id,
 * apps and permissions). Sessions live in this process's memory, expire, and are bounded.
 * Each has a CSRF token that every form that changes something (abort, logout) must carry.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiKeyIdentity } from '../auth.js';

export const SESSION_COOKIE = 'pushline_session';

export interface UiSession {
  readonly id: string;
  readonly identity: ApiKeyIdentity;
  /** Carried by every state-changing form. */
  readonly csrf: string;
  readonly expiresAt: number;
}

export interface SessionStoreOptions {
  /** How long a login lasts, ms. Default 8 hours. */
  ttlMs?: number;
  /** Sessions kept at most (the oldest are forgotten first). Default 10,000. */
  max?: number;
  now?: () => number;
}

export class SessionStore {
  readonly ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  /** In creation order, which is expiry order. */
  readonly #sessions = new Map<string, UiSession>();

  constructor(options: SessionStoreOptions = {}) {
    this.ttlMs = options.ttlMs ?? 8 * 60 * 60 * 1000;
    this.#max = options.max ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#sessions.size;
  }

  create(identity: ApiKeyIdentity): UiSession {
    this.#sweep();
    while (this.#sessions.size >= this.#max) this.#sessions.delete(this.#sessions.keys().next().value!);
    const session: UiSession = {
      id: randomBytes(32).toString('base64url'),
      identity,
      csrf: randomBytes(24).toString('base64url'),
      expiresAt: this.#now() + this.ttlMs,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session of a cookie value, or undefined. */
  get(id: string | undefined): UiSession | undefined {
    if (id === undefined) return undefined;
    const session = this.#sessions.get(id);
    if (session === undefined) return undefined;
    if (session.expiresAt <= this.#now()) {
      this.#sessions.delete(id);
      return undefined;
    }
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  #sweep(): void {
    const now = this.#now();
    for (const [id, session] of this.#sessions) {
      if (session.expiresAt > now) break;
      this.#sessions.delete(id);
    }
  }
}

/** Whether a form's CSRF token is the session's (constant time). */
export function csrfMatches(session: UiSession, given: unknown): boolean {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The value of one cookie in a `Cookie` header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** `Set-Cookie` for a session (or, with `undefined`, the one that clears it). */
export function sessionCookie(session: UiSession | undefined, secure: boolean, ttlMs: number): string {
  const value = session?.id ?? '';
  const maxAge = session === undefined ? 0 : Math.floor(ttlMs / 1000);
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}
