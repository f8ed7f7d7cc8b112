/**
 * Text for a terminal. What the CLI prints often holds words it did not write: a push service's
 * error text, a database's error (which quotes names and values), a device row, a path. Raw, a
 * control character in them drives the terminal: ESC sequences set the window title, clear the
 * screen, forge hyperlinks (OSC 8) or rewrite what was printed before; the 8-bit CSI (U+009B)
 * does the same on terminals that honour C1 controls; bidirectional overrides make a line read
 * other than it is. Every such character is shown as an escape (`\x1b`, `\u202e`) instead.
 */

// C0 controls (tab and line feed included: the caller's text is one line), DEL, C1 controls,
// the line and paragraph separators, and the bidirectional embedding/override/isolate controls.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNSAFE_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const escaped = (char: string): string => {
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
};

/**
 * The text with every control character escaped. `keepNewlines` keeps `\n` for text that is
 * several lines on purpose (a stack trace with `--debug`); otherwise a line break in outside
 * text is escaped too, so one error stays one line.
 */
export function sanitize(text: string, options: { keepNewlines?: boolean } = {}): string {
  const pattern = options.keepNewlines ? UNSAFE_BUT_NEWLINE : UNSAFE;
  return text.replace(pattern, escaped);
}
