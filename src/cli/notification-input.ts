/**
 * The notification of `pushline send`: from a JSON file (`--notification`), from flags, or
 * both (flags override the file's fields). Checked here for shape and for unknown fields
 * (notification-fields.ts); each provider validates the content itself.
 */
import { readFileSync } from 'node:fs';
import type { Notification, Priority } from '../notification.js';
import { CliError, EXIT } from './exit-codes.js';
import { findUnknownField } from './notification-fields.js';

/** The notification flags, as commander parses them. */
export interface NotificationFlags {
  notification?: string;
  title?: string;
  subtitle?: string;
  body?: string;
  data?: string[];
  badge?: string;
  sound?: string;
  image?: string;
  category?: string;
  threadId?: string;
  priority?: string;
  ttl?: string;
  collapseKey?: string;
  silent?: boolean;
  mutableContent?: boolean;
}

const usage = (message: string) => new CliError(message, EXIT.usage);

function wholeNumber(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw usage(`${flag} must be a whole number ≥ 0, got '${value}'`);
  return Number(value);
}

/** `k=v` pairs; a value that reads as JSON (number, true, {…}) is taken as that JSON. */
export function parseData(pairs: readonly string[]): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw usage(`--data takes key=value, got '${pair}'`);
    const raw = pair.slice(at + 1);
    let value: unknown = raw;
    if (/^(-?\d+(\.\d+)?|true|false|null|\{.*\}|\[.*\])$/s.test(raw)) {
      try {
        value = JSON.parse(raw);
      } catch {
        value = raw;
      }
    }
    data[pair.slice(0, at)] = value;
  }
  return data;
}

function fromFile(path: string): Notification {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError(
      `cannot read the notification file '${path}' (${code}): check the path`,
      EXIT.noInput,
      {
        cause: error,
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(
      `the notification file '${path}' is not valid JSON (${(error as Error).message}): it holds one object such as {"title": "Hi", "body": "…"}`,
      EXIT.data,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CliError(
      `the notification file '${path}' must hold one JSON object such as {"title": "Hi", "body": "…"}`,
      EXIT.data,
    );
  }
  const unknown = findUnknownField(parsed as Record<string, unknown>);
  if (unknown !== undefined) {
    const hint = unknown.suggestion === undefined ? '' : ` (did you mean '${unknown.suggestion}'?)`;
    throw new CliError(
      `the notification file '${path}' has an unknown field '${unknown.field}'${hint}; known fields${unknown.field.includes('.') ? ` of ${unknown.field.split('.')[0]}` : ''}: ${unknown.known.join(', ')}`,
      EXIT.data,
    );
  }
  const notification = parsed as Notification & { expiresAt?: unknown };
  if (typeof notification.expiresAt === 'string') notification.expiresAt = new Date(notification.expiresAt);
  return notification;
}

/** Builds the notification; throws a usage error when there is nothing to send. */
export function notificationFrom(flags: NotificationFlags): Notification {
  const notification: Notification = flags.notification ? fromFile(flags.notification) : {};
  if (flags.title !== undefined) notification.title = flags.title;
  if (flags.subtitle !== undefined) notification.subtitle = flags.subtitle;
  if (flags.body !== undefined) notification.body = flags.body;
  if (flags.data && flags.data.length > 0) {
    notification.data = { ...(notification.data ?? {}), ...parseData(flags.data) };
  }
  if (flags.badge !== undefined) notification.badge = wholeNumber('--badge', flags.badge);
  if (flags.sound !== undefined) notification.sound = flags.sound;
  if (flags.image !== undefined) notification.image = flags.image;
  if (flags.category !== undefined) notification.category = flags.category;
  if (flags.threadId !== undefined) notification.threadId = flags.threadId;
  if (flags.priority !== undefined) {
    if (!['high', 'normal', 'low'].includes(flags.priority)) {
      throw usage(`--priority must be high, normal or low, got '${flags.priority}'`);
    }
    notification.priority = flags.priority as Priority;
  }
  if (flags.ttl !== undefined) notification.ttl = wholeNumber('--ttl', flags.ttl);
  if (flags.collapseKey !== undefined) notification.collapseKey = flags.collapseKey;
  if (flags.silent) notification.silent = true;
  if (flags.mutableContent) notification.mutableContent = true;
  const { title, body, data, badge, silent, localization } = notification;
  if (
    title === undefined &&
    body === undefined &&
    data === undefined &&
    badge === undefined &&
    !silent &&
    localization === undefined
  ) {
    throw usage(
      'nothing to send: give --title/--body, --data k=v, --badge, --silent, or --notification file.json',
    );
  }
  return notification;
}
