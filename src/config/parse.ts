/**
 * The one parser, walking a declaration (`schema.ts`): reads the JSON, applies the
 * environment variables (a variable wins over the file, field by field), reads the files the
 * fields name (relative to the config file), and refuses unknown fields, wrong types and
 * out-of-bounds numbers with a message naming the field's path — never its value.
 */
import { dirname, resolve } from 'node:path';
import { secretDescription } from '../redact.js';
import { ConfigError } from './errors.js';
import { isObject, type Origin, readConfigJson, readNamedFile } from './files.js';
import {
  type Field,
  fileKeys,
  type Infer,
  type ListField,
  type MapField,
  type Present,
  Secret,
  type SecretField,
  type Section,
  type SectionFields,
} from './schema.js';

/** How a parse was started: where the file is, and which variables apply. */
export interface ParseContext {
  /** How the file is named in messages: `'pushline.json'` (quoted path) or `the config file`. */
  file: string;
  /** Directory the file's relative paths are relative to. */
  base: string;
  /** The environment: overriding variables, and the variables `…Env` fields name. */
  env: NodeJS.ProcessEnv;
  /** Whether overriding variables apply here (not inside maps and lists). */
  overrides: boolean;
}

export interface LoadOptions {
  /** How the config file's path was given, for messages. Default `--config`. */
  flag?: string;
}

/**
 * Parses the config file at `path` (none: variables only) against `schema`.
 * Throws a {@link ConfigError} for anything missing, malformed, unknown or unreadable.
 */
export function loadConfig<S extends Section>(
  schema: S,
  path: string | undefined,
  env: NodeJS.ProcessEnv,
  options: LoadOptions = {},
): Present<S> {
  const expected = `{ ${Object.keys(schema.fields)
    .map((key) => `"${key}": …`)
    .join(', ')} }`;
  const json = path === undefined ? undefined : readConfigJson(path, options.flag ?? '--config', expected);
  const context: ParseContext = {
    file: path === undefined ? 'the config file' : `'${path}'`,
    base: path === undefined ? process.cwd() : dirname(resolve(path)),
    env,
    overrides: true,
  };
  return parseRoot(schema, json, context);
}

/** Parses an already-read JSON value against the root `schema` (tests, programmatic configs). */
export function parseRoot<S extends Section>(
  schema: S,
  json: Record<string, unknown> | undefined,
  context: ParseContext,
): Present<S> {
  return parseSection(schema, json ?? {}, [], context, true) as Present<S>;
}

const nonEmpty = (value: string | undefined): value is string => value !== undefined && value !== '';

const dotted = (path: readonly string[]): string =>
  path.reduce(
    (text, part) => (part.startsWith('[') ? `${text}${part}` : text ? `${text}.${part}` : part),
    '',
  );

/** A field's place in the file, for messages: `providers.apns.teamId in 'pushline.json'`. */
const fileOrigin = (path: readonly string[], context: ParseContext): Origin => ({
  where: `${dotted(path)} in ${context.file}`,
  base: context.base,
});

const envOrigin = (variable: string): Origin => ({ where: variable, base: process.cwd() });

/** "the config file 'p': " or "the config file: " — the prefix of a message about structure. */
const structure = (context: ParseContext): string =>
  context.file === 'the config file' ? 'the config file' : `the config file ${context.file}`;

function parseSection(
  section: Section<SectionFields, unknown>,
  raw: unknown,
  path: string[],
  context: ParseContext,
  root = false,
): Record<string, unknown> | undefined {
  if (raw !== undefined && !isObject(raw)) {
    throw new ConfigError(`${structure(context)}: ${dotted(path)} must be an object`, { path: dotted(path) });
  }
  const given = raw as Record<string, unknown> | undefined;
  if (given !== undefined) refuseUnknown(section, given, path, context, root);
  const present =
    given !== undefined ||
    section.presence === 'always' ||
    (context.overrides && enabledByEnv(section, context.env));
  if (!present) return undefined;
  const values = given ?? {};
  const out: Record<string, unknown> = {};
  for (const [name, field] of Object.entries(section.fields)) {
    const value = parseField(field, values, name, [...path, name], context);
    if (value !== undefined) out[name] = value;
  }
  const missing = Object.entries(section.fields).filter(
    ([name, field]) =>
      field.required === true &&
      out[name] === undefined &&
      !(field.requiredUnless !== undefined && out[field.requiredUnless.field] === field.requiredUnless.value),
  );
  if (missing.length > 0) {
    const list = missing.map(([name, field]) => describeMissing(name, field, context)).join(', ');
    throw new ConfigError(`${dotted(path)} is configured but lacks ${list}: see pushline send --help`, {
      path: `${dotted(path)}.${missing[0]![0]}`,
    });
  }
  return out;
}

function describeMissing(name: string, field: Field, context: ParseContext): string {
  const keys = fileKeys(name, field).join(' / ');
  const variables = context.overrides
    ? [field.env, field.kind === 'secret' ? field.fileEnv : undefined].filter((v) => v !== undefined)
    : [];
  return variables.length > 0 ? `${keys} (${variables.join(' / ')})` : keys;
}

/** True when a variable that configures this section (or one inside it) is set. */
function enabledByEnv(section: Section<SectionFields, unknown>, env: NodeJS.ProcessEnv): boolean {
  return Object.values(section.fields).some((field) => {
    if (field.kind === 'section') return enabledByEnv(field, env);
    if (field.envEnables === false) return false;
    const variables = [field.env, field.kind === 'secret' ? field.fileEnv : undefined];
    return variables.some((name) => name !== undefined && nonEmpty(env[name]));
  });
}

function refuseUnknown(
  section: Section<SectionFields, unknown>,
  given: Record<string, unknown>,
  path: string[],
  context: ParseContext,
  root: boolean,
): void {
  const known = Object.entries(section.fields).flatMap(([name, field]) => fileKeys(name, field));
  for (const key of Object.keys(given)) {
    if (known.includes(key)) continue;
    const guess = closest(key, known);
    const unknownPath = dotted([...path, key]);
    if (root) {
      throw new ConfigError(
        `${structure(context)} has an unknown key ${shownKey(key)}; known keys: ${known.join(', ')}${guess ? `; did you mean '${guess}'?` : ''}`,
        { path: unknownPath },
      );
    }
    throw new ConfigError(
      `${structure(context)}: ${dotted(path)} has an unknown field ${shownKey(key)}; known fields: ${known.join(', ')}${guess ? `; did you mean ${dotted([...path, guess])}?` : ''}`,
      { path: unknownPath },
    );
  }
}

/** A key of the file, ready to quote: key material is described, control characters escaped. */
function shownKey(key: string): string {
  const secret = secretDescription(key);
  if (secret !== undefined) return `(${secret}, not shown)`;
  if (key.length > 64) return `(a name of ${key.length} characters)`;
  return `'${JSON.stringify(key).slice(1, -1)}'`;
}

/** The known name within two edits of `key` (or equal ignoring case), if one is. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const name of known) {
    const distance = name.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, name, bestDistance);
    if (distance < bestDistance) {
      best = name;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance, giving up (returning `limit`) once it cannot be below `limit`. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    if (Math.min(...current) >= limit) return limit;
    previous = current;
  }
  return previous[b.length]!;
}

function parseField(
  field: Field,
  values: Record<string, unknown>,
  name: string,
  path: string[],
  context: ParseContext,
): unknown {
  switch (field.kind) {
    case 'section':
      return parseSection(field, values[name], path, context);
    case 'map':
      return parseMap(field, values[name], path, context);
    case 'list':
      return parseList(field, values[name], path, context);
    case 'secret':
      return parseSecret(field, values, path, context);
    default: {
      const variable = context.overrides && field.env !== undefined ? context.env[field.env] : undefined;
      if (nonEmpty(variable)) return fromVariable(field, variable, field.env!);
      const raw = values[name];
      if (raw !== undefined) return fromFile(field, raw, fileOrigin(path, context));
      const fallback =
        context.overrides && field.fallbackEnv !== undefined ? context.env[field.fallbackEnv] : undefined;
      if (nonEmpty(fallback)) return fromVariable(field, fallback, field.fallbackEnv!);
      return 'default' in field ? field.default : undefined;
    }
  }
}

type ScalarField = Exclude<
  Field,
  Section<never, unknown> | MapField<never, unknown> | ListField<never, unknown> | SecretField<unknown>
>;

/** A value from a variable (text), checked against its declaration. */
function fromVariable(field: Field, value: string, variable: string): unknown {
  const scalar = field as ScalarField;
  switch (scalar.kind) {
    case 'string':
      return checkPattern(scalar, value, variable);
    case 'boolean':
      if (/^(true|1|yes)$/i.test(value)) return true;
      if (/^(false|0|no)$/i.test(value)) return false;
      throw new ConfigError(`${variable} must be true or false`);
    case 'integer': {
      const number = /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
      return checkInteger(scalar, number, variable);
    }
    case 'enum':
      return checkEnum(scalar, value, variable);
    case 'strings':
      return checkStrings(
        scalar,
        value.split(',').map((item) => item.trim()),
        variable,
      );
    case 'file':
      return readNamedFile(value, envOrigin(variable), scalar.hint);
  }
}

/** A value from the file, checked against its declaration. */
function fromFile(field: Field, value: unknown, origin: Origin): unknown {
  const scalar = field as ScalarField;
  const where = origin.where;
  switch (scalar.kind) {
    case 'string':
      if (typeof value !== 'string' || value === '')
        throw new ConfigError(`${where} must be a non-empty string`);
      return checkPattern(scalar, value, where);
    case 'boolean':
      if (typeof value !== 'boolean') throw new ConfigError(`${where} must be true or false`);
      return value;
    case 'integer':
      return checkInteger(scalar, typeof value === 'number' ? value : Number.NaN, where);
    case 'enum':
      if (typeof value !== 'string')
        throw new ConfigError(`${where} must be one of ${scalar.values.join(', ')}`);
      return checkEnum(scalar, value, where);
    case 'strings':
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string' && item !== '')) {
        throw new ConfigError(`${where} must be a list of strings`);
      }
      return checkStrings(scalar, value as string[], where);
    case 'file':
      if (typeof value !== 'string' || value === '')
        throw new ConfigError(`${where} must be a non-empty string`);
      return readNamedFile(value, origin, scalar.hint);
  }
}

function checkPattern(field: Extract<Field, { kind: 'string' }>, value: string, where: string): string {
  if (field.pattern !== undefined && !field.pattern.test(value)) {
    throw new ConfigError(`${where} must be ${field.patternHelp ?? `text matching ${field.pattern}`}`);
  }
  return value;
}

function checkInteger(field: Extract<Field, { kind: 'integer' }>, value: number, where: string): number {
  const min = field.min ?? 1;
  if (!Number.isInteger(value) || value < min || (field.max !== undefined && value > field.max)) {
    const range = field.max === undefined ? `≥ ${min}` : `from ${min} to ${field.max}`;
    throw new ConfigError(`${where} must be a whole number ${range}`);
  }
  return value;
}

function checkEnum(field: Extract<Field, { kind: 'enum' }>, value: string, where: string): string {
  if (field.values.includes(value)) return value;
  const guess = closest(value, field.values);
  throw new ConfigError(
    `${where} must be one of ${field.values.join(', ')}${guess ? ` (did you mean ${guess}?)` : ''}`,
  );
}

function checkStrings(field: Extract<Field, { kind: 'strings' }>, value: string[], where: string): string[] {
  if (value.length === 0 && field.nonEmpty === true) throw new ConfigError(`${where} must not be empty`);
  if (value.some((item) => item === ''))
    throw new ConfigError(`${where} must be a list of non-empty strings`);
  if (field.values !== undefined) {
    const allowed = field.values;
    if (!value.every((item) => allowed.includes(item))) {
      throw new ConfigError(`${where} must list only ${allowed.join(', ')}`);
    }
  }
  return value;
}

/**
 * A secret: its variables first (the value, then a path), then the one form the file gives
 * (two forms at once are refused: which one was meant is a guess).
 */
function parseSecret(
  field: SecretField<unknown>,
  values: Record<string, unknown>,
  path: string[],
  context: ParseContext,
): Secret | undefined {
  if (context.overrides) {
    const value = field.env === undefined ? undefined : context.env[field.env];
    if (nonEmpty(value)) return new Secret(value, field.env!, true);
    const file = field.fileEnv === undefined ? undefined : context.env[field.fileEnv];
    if (nonEmpty(file)) {
      if (field.pathIsInline?.(file)) return new Secret(file, field.fileEnv!, true);
      return fromSecretFile(field, file, envOrigin(field.fileEnv!));
    }
  }
  const parent = path.slice(0, -1);
  const forms = [field.inline, field.fromEnv, field.file].filter(
    (key): key is string => key !== undefined && values[key] !== undefined,
  );
  if (forms.length > 1) {
    throw new ConfigError(
      `${dotted(parent)} in ${context.file} gives ${forms.join(' and ')}: give only one of them`,
      { path: dotted([...parent, forms[1]!]) },
    );
  }
  const key = forms[0];
  if (key === undefined) return undefined;
  const origin = fileOrigin([...parent, key], context);
  const raw = values[key];
  if (typeof raw !== 'string' || raw === '')
    throw new ConfigError(`${origin.where} must be a non-empty string`);
  if (key === field.inline) return new Secret(raw, origin.where, true);
  if (key === field.fromEnv) return new Secret(fromNamedVariable(raw, origin.where, context.env), raw, true);
  if (field.pathIsInline?.(raw)) return new Secret(raw, origin.where, true);
  return fromSecretFile(field, raw, origin);
}

function fromSecretFile(field: SecretField<unknown>, path: string, origin: Origin): Secret {
  if (field.binary === true)
    return new Secret(readNamedFile(path, origin, field.hint, true), origin.where, false);
  const text = readNamedFile(path, origin, field.hint);
  return new Secret(field.trim === true ? text.trim() : text, origin.where, false);
}

/** The value of the variable whose NAME the file gives (`passphraseEnv: "APNS_PASSPHRASE"`). */
function fromNamedVariable(name: string, where: string, env: NodeJS.ProcessEnv): string {
  // A value that is not a name may be the secret itself.
  const secret = secretDescription(name);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || secret !== undefined) {
    throw new ConfigError(
      `${where} must be the name of an environment variable (letters, digits, _), e.g. "APNS_SECRET"; ` +
        `it holds ${secret ?? 'something else'} (not shown): put the secret in a variable and name that variable here`,
    );
  }
  const value = env[name];
  if (!nonEmpty(value)) {
    throw new ConfigError(
      `${where} names the environment variable ${name}, which is not set: export it before running pushline`,
    );
  }
  return value;
}

const DEFAULT_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function parseMap(
  field: MapField<Section, unknown>,
  raw: unknown,
  path: string[],
  context: ParseContext,
): Record<string, unknown> | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    throw new ConfigError(`${structure(context)}: ${dotted(path)} must be an object of named entries`, {
      path: dotted(path),
    });
  }
  const inner = { ...context, overrides: false };
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!(field.keyPattern ?? DEFAULT_KEY).test(key)) {
      throw new ConfigError(
        `${structure(context)}: ${dotted(path)} has an entry named ${shownKey(key)}; names are ${field.keyHelp ?? 'letters, digits, ".", "_" and "-", up to 64'}`,
        { path: dotted(path) },
      );
    }
    if (value === undefined) continue;
    out[key] = parseSection(field.of, value, [...path, key], inner);
  }
  return out;
}

function parseList(
  field: ListField<Section, unknown>,
  raw: unknown,
  path: string[],
  context: ParseContext,
): unknown[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) {
    throw new ConfigError(`${structure(context)}: ${dotted(path)} must be a list`, { path: dotted(path) });
  }
  if (raw.length === 0 && field.nonEmpty === true) {
    throw new ConfigError(`${structure(context)}: ${dotted(path)} must not be empty`, { path: dotted(path) });
  }
  const inner = { ...context, overrides: false };
  return raw.map((item, index) => {
    if (!isObject(item)) {
      throw new ConfigError(`${structure(context)}: ${dotted([...path, `[${index}]`])} must be an object`, {
        path: dotted([...path, `[${index}]`]),
      });
    }
    return parseSection(field.of, item, [...path, `[${index}]`], inner);
  });
}

/** The declared output of `schema` (re-exported for callers that only parse). */
export type Parsed<S> = Infer<S>;
