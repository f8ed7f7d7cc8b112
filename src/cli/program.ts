/**
 * The `pushline` command line: `send`, `subscribe`, `unsubscribe`, `serve`, `key`, `emulate`, `demo`, each with its own --help.
 * Parsing is commander's; each command's work is in its own file.
 */
import { Command, CommanderError, Option } from 'commander';
import { REDIS_SECTION } from '../config/redis.js';
import { variablesOf } from '../config/schema.js';
import { SERVER_SECTION } from '../config/server.js';
import { CONFIG_HELP } from './config.js';
import { runDemo } from './demo.js';
import { runEmulate } from './emulate.js';
import { EXIT, EXIT_CODES_HELP, type ExitCode } from './exit-codes.js';
import type { CliIO } from './io.js';
import { reportError } from './report.js';
import { sanitize } from './sanitize.js';
import { runSend } from './send.js';
import { serveCommands, workerCommand } from './server-commands.js';
import { runSubscribe } from './subscribe.js';
import { addVapidCommand } from './vapid.js';
import { pushlineVersion } from './version.js';

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

const SEND_EXAMPLES = `Examples:
  pushline send --config pushline.json --devices sqlite:app.db \\
    --query 'SELECT id, platform, token FROM devices' --title Hello --body 'New today' \\
    --apply-feedback --table devices --key-column id --out results.ndjson
  pushline send --config pushline.json --devices devices.ndjson --notification msg.json --json
  cat devices.ndjson | pushline send --devices - --title Hi --emulator

Device sources (--devices):
  sqlite:path/to.db        SQLite file; needs --query
  postgres://user@host/db  PostgreSQL; needs --query (a server-side cursor: constant memory)
  devices.ndjson|.jsonl    one JSON device per line: {"platform":"ios","token":"…","id":1}
  devices.csv              header line, then rows with token and platform columns
  -                        NDJSON on stdin
  A query returns a token column and a platform column (rename with --token-column /
  --platform-column, or give --platform); every other column rides along and comes back
  in --out, so include the key column (e.g. id) when you use --apply-feedback.
  A password in --devices is visible to every local user (ps) while pushline runs: use
  --devices-env NAME (export NAME='postgres://user:pass@host/db'), or PGPASSWORD / ~/.pgpass.
  Printed URLs have their password masked.

Interrupting (Ctrl-C, SIGTERM):
  The first SIGINT/SIGTERM stops reading devices and lets those in flight finish (up to
  --grace-period); the second aborts them. Either way every device read has its --out line
  and the exit code is 130. Devices never read have no line: send them with
    pushline send … --out results.ndjson --resume results.ndjson
  which skips every device results.ndjson records as sent, dead, failed for good or possibly
  delivered (--resend-uncertain sends those again), and appends to it. A device is known by
  its --key-column (default id), else by platform + token.`;

/** Builds the program; `finish` receives the exit code of the command that ran. */
export function buildProgram(io: CliIO, finish: (code: ExitCode) => void): Command {
  // Flags that stand for a config field name its variable and default from the one schema.
  const { host, port } = SERVER_SECTION.fields;
  const redis = REDIS_SECTION.fields;
  const redisVariable = variablesOf(redis.url).join(' or ');
  const program = new Command('pushline')
    .description('Send one notification to many devices through APNs, FCM and Web Push; act on the feedback.')
    .version(pushlineVersion(), '-V, --version', 'print the version')
    .option('--debug', 'print stack traces with errors')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .addHelpText('after', `\n${EXIT_CODES_HELP}\n\nStart with: pushline demo`);

  program
    .command('send')
    .description('send one notification to every device of a source; write and apply the feedback')
    .option('-c, --config <file>', "JSON file with the providers' credentials (schema below)")
    .option('-d, --devices <source>', 'where the devices come from (see Device sources below)')
    .option(
      '--devices-env <name>',
      'read the device source from this environment variable instead (keeps a database password out of ps and shell history)',
    )
    .option('-q, --query <sql>', 'the SELECT for a sqlite: or postgres:// source')
    .option('--token-column <name>', "the query's token column (default: token)")
    .option('--platform-column <name>', "the query's platform column (default: platform)")
    .option('--platform <platform>', 'every device is this platform: ios, android, web or huawei')
    .option('-n, --notification <file>', 'the notification as a JSON file (flags below override its fields)')
    .option('--title <text>', 'alert title')
    .option('--subtitle <text>', 'alert subtitle (APNs)')
    .option('--body <text>', 'alert body')
    .option(
      '--data <key=value>',
      'custom data for the app; repeatable; JSON values (1, true, {…}) are parsed',
      collect,
    )
    .option('--badge <n>', 'app icon badge (0 clears it)')
    .option('--sound <name>', "sound name ('default' for the system sound)")
    .option('--image <url>', 'image shown with the notification where supported')
    .option('--category <id>', 'APNs category / FCM click_action')
    .option('--thread-id <id>', 'groups notifications on the device')
    .addOption(new Option('--priority <level>', 'delivery priority').choices(['high', 'normal', 'low']))
    .option('--ttl <seconds>', 'how long the provider may keep trying (0: now or never)')
    .option('--collapse-key <key>', 'a later notification with the same key replaces this one')
    .option('--silent', 'background notification: wakes the app, shows nothing')
    .option('--mutable-content', 'let an iOS notification service extension modify it')
    .option(
      '--apply-feedback',
      'delete the rows of dead tokens in the source database (or mark them: --mark-column)',
    )
    .option('--table <name>', 'with --apply-feedback: the table holding the tokens')
    .option(
      '--key-column <name>',
      'with --apply-feedback: the column identifying a row; must be in the query (default: id)',
    )
    .option(
      '--mark-column <name>',
      'with --apply-feedback: set this column to the invalidation time instead of deleting',
    )
    .option(
      '--dry-run',
      'validate, deliver nothing: FCM checks each message (validate_only), APNs and Web Push are checked locally without a request; changes nothing',
    )
    .option('-o, --out <file>', 'write one NDJSON feedback line per device read (- for stdout)')
    .option(
      '--resume <file>',
      "skip the devices an earlier run's --out file records as done; this run's lines are added to it",
    )
    .option(
      '--resend-uncertain',
      'with --resume: send again the devices whose earlier request may have been delivered',
    )
    .option(
      '--grace-period <seconds>',
      'after SIGINT/SIGTERM, how long the devices in flight get to finish before they are aborted (default: 5)',
    )
    .option('--json', 'print the summary as one JSON object instead of a table')
    .option('--emulator', 'start the built-in emulators and send to them (for trying things out)')
    .option('--window <n>', 'devices each provider holds at once (default: 1000)')
    .option(
      '--delivery <semantics>',
      'at-least-once (default): re-send after an answer lost in flight (rare duplicates, flagged maybeDuplicate); at-most-once: never re-send such a device, fail it maybeDelivered (for payments, one-time codes)',
    )
    .option('--no-progress', 'no progress display on stderr')
    .option(
      '--progress-interval <seconds>',
      'seconds between progress lines when stderr is not a terminal (default: 5)',
    )
    .addHelpText('after', `\n${SEND_EXAMPLES}\n\n${CONFIG_HELP}\n\n${EXIT_CODES_HELP}`)
    .action(async (flags) => finish(await runSend(flags, io)));

  for (const operation of ['subscribe', 'unsubscribe'] as const) {
    program
      .command(operation)
      .description(
        operation === 'subscribe'
          ? 'subscribe every device of a source to an FCM topic (1,000 tokens a request); write the feedback'
          : 'unsubscribe every device of a source from an FCM topic; write the feedback',
      )
      .requiredOption('-t, --topic <name>', 'the topic: [a-zA-Z0-9-_.~%]+, with or without /topics/')
      .option('-c, --config <file>', "JSON file with the providers' credentials (an fcm section)")
      .option('-d, --devices <source>', 'where the devices come from (as pushline send: see its --help)')
      .option('--devices-env <name>', 'read the device source from this environment variable instead')
      .option('-q, --query <sql>', 'the SELECT for a sqlite: or postgres:// source')
      .option('--token-column <name>', "the query's token column (default: token)")
      .option('--platform-column <name>', "the query's platform column (default: platform)")
      .option('--platform <platform>', 'every device is this platform (android for FCM tokens)')
      .option(
        '--apply-feedback',
        'delete the rows of tokens FCM does not know (NOT_FOUND, INVALID_ARGUMENT), or mark them: --mark-column',
      )
      .option('--table <name>', 'with --apply-feedback: the table holding the tokens')
      .option('--key-column <name>', 'with --apply-feedback: the column identifying a row (default: id)')
      .option('--mark-column <name>', 'with --apply-feedback: set this column instead of deleting')
      .option('-o, --out <file>', 'write one NDJSON feedback line per device read (- for stdout)')
      .option('--json', 'print the summary as one JSON object instead of a table')
      .option('--emulator', 'start the built-in emulators and use the FCM one (for trying things out)')
      .option('--window <n>', 'devices held at once; each 1,000 is one request in flight (default: 2,000)')
      .option('--no-progress', 'no progress display on stderr')
      .addHelpText('after', `\n${EXIT_CODES_HELP}`)
      .action(async (flags) => finish(await runSubscribe(operation, flags, io)));
  }

  program
    .command('serve')
    .description("run the push server: the native /v1/sends API and gorush's /api/push, behind API keys")
    .option('-c, --config <file>', 'JSON config: apps, server, apiKeys, databases (see the README, "Server")')
    .option(
      '--host <address>',
      `listen on this address (default: ${host.default}; 0.0.0.0 for every interface)`,
    )
    .option('--port <n>', `listen on this port (default: ${port.default}, gorush's; 0 for any free one)`)
    .option(
      '--emulator',
      'start the built-in emulators and send every app to them; without apiKeys in the config, make a key and print it',
    )
    .option('--emulator-latency <ms>', 'with --emulator: delay before each emulator answer (default: 0)')
    .option('--log-level <level>', 'pino log level: fatal, error, warn, info, debug (default: info)')
    .option(
      '--redis <url>',
      `accept sends into the Redis queue (BullMQ) for pushline worker processes (also redis.url, ${redisVariable})`,
    )
    .option('--workers <n>', 'with Redis: queue workers to run in this process too (default: 0)')
    .addHelpText(
      'after',
      `
Logs are JSON lines on stdout (one per request, with its request id and the API key's id;
never a token or a key). The ready line and any key made by --emulator go to stderr.
Environment: ${[...variablesOf(host), ...variablesOf(port)].join(', ')} override the config's server section.
SIGTERM/SIGINT: new requests get 503, accepted sends get server.shutdownTimeoutMs (default
10 s) to finish, what is left is aborted (each device still gets its feedback), exit 0.

Try it: pushline serve --emulator`,
    )
    .action(async (flags) => finish(await (await serveCommands()).runServe(flags, io)));

  program
    .command('key')
    .description('make a new API key for pushline serve: prints the key once and the hash for the config')
    .option('--json', 'print {"key","hash"} as one JSON line')
    .action(async (flags) => finish((await serveCommands()).runKey(flags, io)));

  program
    .command('emulate')
    .description('run the APNs, FCM, Web Push and HMS emulators in the foreground until Ctrl-C')
    .option(
      '--unregistered-rate <fraction>',
      'share of the devices that are dead (0–1): APNs by token hash, FCM, HMS and web in the written devices file (default: 0)',
    )
    .option('--latency <ms>', 'delay before each answer, every emulator (default: 0)')
    .option('--subscriptions <n>', 'web subscriptions to issue into the devices file (default: 3)')
    .option(
      '--tokens <n>',
      'iOS, Android and Huawei tokens to write into the devices file, each (default: 2)',
    )
    .option('--topic <bundle-id>', 'the APNs app topic (default: com.example.app)')
    .option(
      '--dir <path>',
      'where to write the CA, keys, config and devices (default: a temp dir, removed at exit)',
    )
    .option('--json', 'print the connection details as one JSON line')
    .addHelpText(
      'after',
      `
Writes to the directory: apns-ca.pem, fcm-ca.pem, webpush-ca.pem, hms-ca.pem (the CAs to trust), AuthKey_<keyId>.p8,
service-account.json, vapid-private-key.txt, hms-client-secret.txt, pushline.json (a config for pushline send --config) and devices.ndjson.
Stops cleanly on SIGINT or SIGTERM (exit 0).`,
    )
    .action(async (flags) => finish(await runEmulate(flags, io)));

  program
    .command('demo')
    .description('send to N devices from SQLite through the emulators and remove the dead tokens')
    .option('--devices-count <n>', 'devices in the database (default: 100,000)')
    .option('--db <file>', 'create the database here and keep it (default: a temp file, removed at exit)')
    .option(
      '--web-share <fraction>',
      'share of web subscriptions (default: 0.1; Web Push encrypts per device)',
    )
    .option('--huawei-share <fraction>', 'share of Huawei devices, sent through HMS (default: 0.1)')
    .option('--seed <n>', 'seed for the tokens and the dead Android share (default: 1)')
    .option('--json', 'print the result as one JSON object')
    .option('--no-progress', 'no progress display on stderr')
    .option(
      '--progress-interval <seconds>',
      'seconds between progress lines when stderr is not a terminal (default: 5)',
    )
    .addHelpText(
      'after',
      `
Dead devices, decided by the emulators' scenarios and listed in the table demo_dead:
  ios      ~3% (APNs emulator: unregistered rate, by token hash)  → 410 Unregistered
  android  ~2% (seeded token hash, given to the FCM emulator)     → 404 UNREGISTERED
  web      ~2% (subscriptions unsubscribed in the emulator)       → 410 Gone
The demo checks that exactly those rows are deleted and that N − removed rows remain.
Exit 0 when every check passes.`,
    )
    .action(async (flags) => finish(await runDemo(flags, io)));

  program
    .command('worker')
    .description('process the sends queued on Redis by pushline serve --redis (run as many as needed)')
    .option(
      '--redis <url>',
      `the queue, redis://host:port (default: ${redisVariable} or redis.url of --config)`,
    )
    .option('-c, --config <file>', "the apps' credentials (apps, or providers as the app 'default')")
    .option(
      '--concurrency <n>',
      `chunk jobs run at once (default: redis.concurrency, ${redis.concurrency.default})`,
    )
    .option(
      '--grace-period <ms>',
      'on SIGTERM, how long requests in flight may take to finish (default: 30000)',
    )
    .option('--takeover-after <ms>', "how soon a dead worker's chunks are taken over (default: 30000)")
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics on GET /metrics at this port (0: any free one)',
    )
    .option(
      '--metrics-host <host>',
      `the address the metrics listen on (default: redis.metricsHost, ${redis.metricsHost.default})`,
    )
    .action(async (flags) => finish(await (await workerCommand()).runWorker(flags, io)));

  addVapidCommand(program, io, finish);
  // Each command names its own --help in its usage errors (commands copy the program's output
  // settings when created, so this runs once they all exist).
  for (const command of [program, ...program.commands]) {
    const path = command === program ? 'pushline' : `pushline ${command.name()}`;
    command.configureOutput({ outputError: (text, write) => write(`${usageErrorLine(text, path)}\n`) });
  }
  return program;
}

/**
 * Commander's usage error as one line naming the fix: `pushline: error: unknown option
 * '--foo' (see pushline send --help)`. Its did-you-mean comes on a line of its own and is
 * joined; the arguments it quotes may come from anywhere, so the line is sanitised.
 */
export function usageErrorLine(text: string, path: string): string {
  const message = text
    .trim()
    .replace(/^error: /, '')
    .replace(/\s*\n\s*\(Did you mean (.+?)\?\)$/s, ': did you mean $1?')
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\.$/, '');
  return `pushline: error: ${sanitize(message)} (see ${path} --help)`;
}

/** Runs the command line; resolves to the exit code (never throws). */
export async function run(argv: readonly string[], io: CliIO): Promise<number> {
  let code: number = EXIT.ok;
  const program = buildProgram(io, (exitCode) => {
    code = exitCode;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    return reportError(error, io.stderr, argv.includes('--debug'));
  }
}
