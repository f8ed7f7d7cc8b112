/**
 * The config file's schema, declared once (as gorush's `config/config.go` is): each field is
 * one declaration — its type, its environment variable, whether it is a secret and in which
 * forms, its help line, its default — and parsing, environment overrides, unknown-field
 * errors, `--help` and secret masking are all derived from these declarations
 * (`parse.ts`, `help.ts`). Nothing else spells a field's name.
 *
 * A declaration is plain data built with the functions below; its TypeScript output type is
 * carried along (`Infer<typeof section>`), so what the parser returns is typed without a
 * second spelling either.
 */
import { inspect } from 'node:util';

/** Carries a declaration's output type; never set at run time. */
declare const OUTPUT: unique symbol;

/** What every declaration has. */
interface Declared<T> {
  readonly [OUTPUT]?: T;
  /** One line for `--help`; required, and checked non-empty by `help.ts`. */
  readonly help: string;
  /**
   * Environment variable that overrides the file's value. Variables override only fields
   * outside maps and lists: a variable cannot say which map entry it is for.
   */
  readonly env?: string;
  /**
   * Whether this field's variable alone makes its section present (e.g.
   * `PUSHLINE_APNS_TEAM_ID` configures APNs; `PUSHLINE_APNS_ENDPOINT` alone does not).
   * Default true.
   */
  readonly envEnables?: boolean;
  /**
   * A variable used only when the file leaves the field out, which never makes a section
   * present (`PUSHLINE_CA_FILE`: one CA for every provider, unless a provider names its own).
   */
  readonly fallbackEnv?: string;
  /** A present section without this field is an error naming every missing field at once. */
  readonly required?: boolean;
  /**
   * With `required`: not required when the section's field `field` is `value` (FCM's service
   * account, which Application Default Credentials do without).
   */
  readonly requiredUnless?: { readonly field: string; readonly value: string };
}

export interface StringField<T = string | undefined> extends Declared<T> {
  readonly kind: 'string';
  /** Refuses values that do not match; `patternHelp` says what is expected. */
  readonly pattern?: RegExp;
  readonly patternHelp?: string;
  readonly default?: string;
}

export interface BooleanField<T = boolean | undefined> extends Declared<T> {
  readonly kind: 'boolean';
  readonly default?: boolean;
}

export interface IntegerField<T = number | undefined> extends Declared<T> {
  readonly kind: 'integer';
  /** Smallest value allowed. Default 1. */
  readonly min?: number;
  readonly max?: number;
  readonly default?: number;
  /** Unit shown in --help, e.g. `ms`. */
  readonly unit?: string;
}

export interface EnumField<T = string | undefined> extends Declared<T> {
  readonly kind: 'enum';
  readonly values: readonly string[];
  readonly default?: string;
}

export interface StringListField<T = string[] | undefined> extends Declared<T> {
  readonly kind: 'strings';
  /** When given, every item must be one of these. */
  readonly values?: readonly string[];
  /** Refuse `[]` (where an empty list cannot mean anything). Default false. */
  readonly nonEmpty?: boolean;
}

/** A path in the file (or `env`), read relative to the config file; the value is the file's text. */
export interface FileField<T = string | undefined> extends Declared<T> {
  readonly kind: 'file';
  /** What to say when the "path" given is really key material. */
  readonly hint?: string;
}

/**
 * A secret, given in the file in exactly one of its forms — inline, the name of an
 * environment variable holding it, or a file holding it — or by the variables `env` (the
 * value) and `fileEnv` (a path). Each form is a key of its own in the file (`key`, `keyEnv`,
 * `keyFile`); the parser returns one {@link Secret}. Variables win over the file.
 */
export interface SecretField<T = Secret | undefined> extends Declared<T> {
  readonly kind: 'secret';
  /** The file key holding the secret itself (`key`), if that form is allowed. */
  readonly inline?: string;
  /** The file key naming a variable that holds it (`keyEnv`). */
  readonly fromEnv?: string;
  /** The file key holding a path to a file holding it (`keyFile`). */
  readonly file?: string;
  /** A variable holding a path to a file holding it. */
  readonly fileEnv?: string;
  /** Read the file as bytes (a .p12), not text. */
  readonly binary?: boolean;
  /** Trim the text read from a file (a key saved with a trailing newline). */
  readonly trim?: boolean;
  /**
   * "Paths" (from `file` or `fileEnv`) for which this is true are the secret itself, not a
   * path (GOOGLE_APPLICATION_CREDENTIALS holding the JSON people paste into it).
   */
  readonly pathIsInline?: (value: string) => boolean;
  /** What to say when a "path" given is really key material. */
  readonly hint?: string;
}

export type SectionFields = Readonly<Record<string, Field>>;

/** A JSON object with declared fields; unknown fields are refused. */
export interface Section<F extends SectionFields = SectionFields, T = SectionOutput<F> | undefined>
  extends Declared<T> {
  readonly kind: 'section';
  readonly fields: F;
  /**
   * `'when-given'` (default): undefined unless the file has it or one of its variables is
   * set; `'always'`: an object even when absent (its fields' defaults apply).
   */
  readonly presence: 'when-given' | 'always';
}

/** A JSON object whose keys are names chosen by the user (`apps: { shop: {…} }`). */
export interface MapField<S extends Section = Section, T = Record<string, Present<S>> | undefined>
  extends Declared<T> {
  readonly kind: 'map';
  readonly of: S;
  /** What a key may look like. Default: letters, digits, `.`, `_`, `-`, up to 64. */
  readonly keyPattern?: RegExp;
  readonly keyHelp?: string;
}

/** A JSON array of objects (`apiKeys: [{ id, hash }]`). */
export interface ListField<S extends Section = Section, T = Present<S>[] | undefined> extends Declared<T> {
  readonly kind: 'list';
  readonly of: S;
  /** Refuse `[]`. Default false. */
  readonly nonEmpty?: boolean;
}

export type Field =
  | StringField<unknown>
  | BooleanField<unknown>
  | IntegerField<unknown>
  | EnumField<unknown>
  | StringListField<unknown>
  | FileField<unknown>
  | SecretField<unknown>
  | Section<SectionFields, unknown>
  | MapField<Section, unknown>
  | ListField<Section, unknown>;

/** The type the parser returns for a declaration. */
export type Infer<D> = D extends Declared<infer T> ? T : never;
/** A section's output when it is present. */
export type Present<S> = Exclude<Infer<S>, undefined>;
export type SectionOutput<F extends SectionFields> = { -readonly [K in keyof F]: Infer<F[K]> };

type Options<D> = Omit<D, 'kind' | typeof OUTPUT>;
/** A declaration whose value is always there: required, or with a default. */
type Certain = { required: true } | { default: unknown };

/** Declares a non-empty string. */
export function string(options: Options<StringField> & Certain): StringField<string>;
export function string(options: Options<StringField>): StringField;
export function string(options: Options<StringField>): StringField {
  return { kind: 'string', ...options };
}

/** Declares `true`/`false` (in a variable also `1`/`0`, `yes`/`no`). */
export function boolean(options: Options<BooleanField> & Certain): BooleanField<boolean>;
export function boolean(options: Options<BooleanField>): BooleanField;
export function boolean(options: Options<BooleanField>): BooleanField {
  return { kind: 'boolean', ...options };
}

/** Declares a whole number within `min` (default 1) and `max`. */
export function integer(options: Options<IntegerField> & Certain): IntegerField<number>;
export function integer(options: Options<IntegerField>): IntegerField;
export function integer(options: Options<IntegerField>): IntegerField {
  return { kind: 'integer', ...options };
}

/** Declares one of `values`. */
type EnumOptions = Omit<Options<EnumField>, 'values'>;
export function oneOf<const V extends readonly string[]>(
  values: V,
  options: EnumOptions & Certain,
): EnumField<V[number]>;
export function oneOf<const V extends readonly string[]>(
  values: V,
  options: EnumOptions,
): EnumField<V[number] | undefined>;
export function oneOf(values: readonly string[], options: EnumOptions): EnumField {
  return { kind: 'enum', ...options, values };
}

/** Declares a list of non-empty strings. */
export function strings<const V extends readonly string[] = string[]>(
  options: Options<StringListField> & { values?: V } & { required: true },
): StringListField<V[number][]>;
export function strings<const V extends readonly string[] = string[]>(
  options: Options<StringListField> & { values?: V },
): StringListField<V[number][] | undefined>;
export function strings(options: Options<StringListField>): StringListField {
  return { kind: 'strings', ...options };
}

/** Declares a path whose file is read (as text) when the config is loaded. */
export function file(options: Options<FileField> & { required: true }): FileField<string>;
export function file(options: Options<FileField>): FileField;
export function file(options: Options<FileField>): FileField {
  return { kind: 'file', ...options };
}

/** Declares a secret and the forms it may be given in (see {@link SecretField}). */
export function secret(options: Options<SecretField> & { required: true }): SecretField<Secret>;
export function secret(options: Options<SecretField>): SecretField;
export function secret(options: Options<SecretField>): SecretField {
  if (options.inline === undefined && options.fromEnv === undefined && options.file === undefined) {
    if (options.env === undefined && options.fileEnv === undefined) {
      throw new TypeError('secret(): declare at least one form (inline, fromEnv, file, env, fileEnv)');
    }
  }
  return { kind: 'secret', ...options };
}

/** Declares an object with these fields. */
export function section<const F extends SectionFields>(
  fields: F,
  options: Options<Omit<Section, 'fields' | 'presence'>> & { presence: 'always' },
): Section<F, SectionOutput<F>>;
export function section<const F extends SectionFields>(
  fields: F,
  options: Options<Omit<Section, 'fields' | 'presence'>> & { presence?: 'when-given' },
): Section<F>;
export function section(
  fields: SectionFields,
  options: Options<Omit<Section, 'fields' | 'presence'>> & { presence?: 'when-given' | 'always' },
): Section {
  return { kind: 'section', ...options, fields, presence: options.presence ?? 'when-given' };
}

/**
 * The same section with more fields (or some replaced): how another part of pushline adds
 * its own fields to a shared section, e.g. a `webhook` to each app.
 */
export function extend<F extends SectionFields, const G extends SectionFields, T>(
  base: Section<F, T>,
  fields: G,
  options: Partial<Options<Omit<Section, 'fields'>>> = {},
): Section<
  Omit<F, keyof G> & G,
  T extends undefined ? SectionOutput<Omit<F, keyof G> & G> | undefined : SectionOutput<Omit<F, keyof G> & G>
> {
  return { ...base, ...options, fields: { ...base.fields, ...fields } } as never;
}

/** Declares an object of user-named entries, each one `of`. */
export function mapOf<S extends Section>(of: S, options: Options<Omit<MapField, 'of'>>): MapField<S> {
  return { kind: 'map', ...options, of };
}

/** Declares an array of objects, each one `of`. */
export function listOf<S extends Section>(of: S, options: Options<Omit<ListField, 'of'>>): ListField<S> {
  return { kind: 'list', ...options, of };
}

/**
 * A secret read from the config: its value only through {@link Secret.reveal}, and nothing
 * else shows it — not `String()`, `JSON.stringify`, `console.log` nor a template string —
 * so a parsed config can be logged whole.
 */
export class Secret<V extends string | Buffer = string | Buffer> {
  readonly #value: V;
  /** Where it came from, for messages: `providers.apns.keyFile in 'pushline.json'`, `PUSHLINE_APNS_KEY`. */
  readonly where: string;
  /** True when the value was given as is (inline or in a variable), not read from a file. */
  readonly inline: boolean;

  constructor(value: V, where: string, inline: boolean) {
    this.#value = value;
    this.where = where;
    this.inline = inline;
  }

  /** The secret itself: hand it to what needs it, never to a message. */
  reveal(): V {
    return this.#value;
  }

  toString(): string {
    return `[secret from ${this.where}]`;
  }

  toJSON(): string {
    return this.toString();
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** A declared field's keys in the file: its own name, or a secret's forms. */
export function fileKeys(name: string, field: Field): string[] {
  if (field.kind !== 'secret') return [name];
  return [field.inline, field.fromEnv, field.file].filter((key): key is string => key !== undefined);
}

/** Every variable a field reads (overriding, path-giving and fallback ones). */
export function variablesOf(field: Field): string[] {
  const names = [field.env, field.kind === 'secret' ? field.fileEnv : undefined, field.fallbackEnv];
  return names.filter((name): name is string => name !== undefined);
}
