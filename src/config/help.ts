/**
 * The config reference for `--help`, derived from the declarations: every field with its
 * type, its help line and its variable, then every variable with the field it overrides.
 * A declaration without help is a bug this refuses to print around.
 */
import type { Field, Section, SectionFields } from './schema.js';
import { fileKeys, variablesOf } from './schema.js';

const WIDTH = 100;
const KEY_COLUMN = 30;

/** One line per field, section by section, then the variables. Throws if any help is missing. */
export function configReference(root: Section<SectionFields, unknown>): string {
  const lines: string[] = [];
  const variables: Array<[string, string]> = [];
  const seen = new Map<Field, string>();
  for (const [name, field] of Object.entries(root.fields)) describe(name, field, [name], 1, true);

  function describe(name: string, field: Field, path: string[], depth: number, overrides: boolean): void {
    const dotted = path.join('.');
    if (field.help.trim() === '') throw new TypeError(`config field ${dotted} is declared without help`);
    const indent = '  '.repeat(depth);
    const container = field.kind === 'section' || field.kind === 'map' || field.kind === 'list';
    if (container) {
      const shown =
        field.kind === 'map' ? `${dotted}.<name>` : field.kind === 'list' ? `${dotted}[]` : dotted;
      const of = field.kind === 'section' ? field : field.of;
      const earlier = seen.get(of);
      const note =
        earlier === undefined
          ? ''
          : ` (the fields of ${earlier}${overrides ? '' : '; variables do not apply'})`;
      const suffix = field.kind === 'map' ? '.<name>' : field.kind === 'list' ? '[]' : '';
      lines.push(...columns(`${indent}${depth === 1 ? shown : `${name}${suffix}`}`, `${field.help}${note}`));
      if (earlier !== undefined) return;
      seen.set(of, shown);
      const inner = overrides && field.kind === 'section';
      for (const [child, declaration] of Object.entries(of.fields)) {
        const childPath = field.kind === 'section' ? [...path, child] : [`${shown}`, child];
        describe(child, declaration, childPath, depth + 1, inner);
      }
      return;
    }
    const keys = fileKeys(name, field).join(' | ');
    const extras = [
      kindOf(field),
      field.required
        ? field.requiredUnless
          ? `required unless ${field.requiredUnless.field} is ${field.requiredUnless.value}`
          : 'required'
        : undefined,
    ];
    if (overrides) {
      for (const variable of variablesOf(field)) {
        const role =
          variable === field.fallbackEnv
            ? ' (when the file has none)'
            : field.kind === 'secret' && variable === field.fileEnv
              ? ' (a path)'
              : '';
        extras.push(`${variable}${role}`);
        variables.push([`${variable}${role}`, dotted]);
      }
    }
    const detail = extras.filter((extra) => extra !== undefined).join('; ');
    lines.push(...columns(`${indent}${keys}`, `${field.help} [${detail}]`));
  }

  const variableLines = mergeVariables(variables).flatMap(([variable, fields]) =>
    columns(`  ${variable}`, fields),
  );
  return [
    '  Secrets are given in one form: the value (key), the name of a variable holding it (keyEnv)',
    "  or a file's path (keyFile); a path that holds a key instead is refused, without echoing it.",
    '',
    ...lines,
    '',
    'Environment variables (override the file, field by field; values are never printed):',
    ...variableLines,
  ].join('\n');
}

/** The same variable read by several fields (PUSHLINE_CA_FILE) is listed once. */
function mergeVariables(variables: Array<[string, string]>): Array<[string, string]> {
  const merged = new Map<string, string[]>();
  for (const [variable, field] of variables) merged.set(variable, [...(merged.get(variable) ?? []), field]);
  return [...merged].map(([variable, fields]) => [variable, fields.join(', ')]);
}

function kindOf(field: Field): string {
  switch (field.kind) {
    case 'string':
      return field.default === undefined ? 'text' : `text, default ${field.default}`;
    case 'boolean':
      return field.default === undefined ? 'true|false' : `true|false, default ${field.default}`;
    case 'integer': {
      const range = field.max === undefined ? `≥ ${field.min ?? 1}` : `${field.min ?? 1}–${field.max}`;
      const unit = field.unit === undefined ? '' : ` ${field.unit}`;
      const fallback = field.default === undefined ? '' : `, default ${field.default}`;
      return `whole number ${range}${unit}${fallback}`;
    }
    case 'enum':
      return field.default === undefined
        ? field.values.join('|')
        : `${field.values.join('|')}, default ${field.default}`;
    case 'strings': {
      const items = field.values === undefined ? 'list of text' : `list of ${field.values.join('|')}`;
      return field.env === undefined ? items : `${items}, comma-separated in the variable`;
    }
    case 'file':
      return "a file's path";
    case 'secret':
      return field.binary === true ? 'secret, binary' : 'secret';
    default:
      return field.kind;
  }
}

/** `left` padded to the key column, `right` wrapped beside it (or below it when `left` is long). */
function columns(left: string, right: string): string[] {
  const width = WIDTH - KEY_COLUMN;
  const words = right.split(' ');
  const wrapped: string[] = [];
  let line = '';
  for (const word of words) {
    if (line !== '' && line.length + 1 + word.length > width) {
      wrapped.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') wrapped.push(line);
  const pad = ' '.repeat(KEY_COLUMN);
  const out =
    left.length < KEY_COLUMN - 1
      ? [`${left.padEnd(KEY_COLUMN)}${wrapped[0] ?? ''}`, ...wrapped.slice(1).map((text) => pad + text)]
      : [left, ...wrapped.map((text) => pad + text)];
  return out;
}
