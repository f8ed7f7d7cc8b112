/**
 * The stores' messages speak to library users: their hints name options of `openDeviceSource`
 * or a feedback sink (`columns: { token: … }`, `keyField`, `query: '…'`). A person running
 * `pushline send` has flags instead, so a store's message that reaches the command line is
 * given the flags' names here, and the library's messages stay as its users know them.
 */

/** Library phrasing → the flag that sets the same thing. Applied in order, each everywhere. */
const TERMS: readonly (readonly [RegExp, string])[] = [
  [/columns: \{ token: '<column>' \}/g, '--token-column <column>'],
  [/columns: \{ platform: '<column>' \}/g, '--platform-column <column>'],
  [/give platform: 'ios' \| 'android' \| 'web' \| 'huawei'/g, 'give --platform ios|android|web|huawei'],
  [/e\.g\. query: 'SELECT/g, "e.g. --query 'SELECT"],
  [
    /select the key column in the device source's query \(or set keyField\)/g,
    'select it in --query (or name the right column with --key-column)',
  ],
  [/\bkeyField\b/g, '--key-column'],
  [/\bkeyColumn\b/g, '--key-column'],
  [/\bmarkColumn\b/g, '--mark-column'],
  // The sink's function name says nothing to someone who typed --apply-feedback.
  [/\b(?:sqlite|postgres)FeedbackSink: /g, ''],
];

/** A store's message with its option names replaced by `pushline send`'s flags. */
export function inCliTerms(message: string): string {
  let text = message;
  for (const [pattern, flag] of TERMS) text = text.replace(pattern, flag);
  return text;
}
