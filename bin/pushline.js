#!/usr/bin/env node
// The published `pushline` command: runs the compiled CLI (npm run build makes dist/).
// From a checkout that was never built, say so in one line instead of a module-not-found stack.
let cli;
try {
  cli = await import('../dist/cli/index.js');
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('/dist/cli/index.js'))
    throw error;
  process.stderr.write(
    'pushline: the CLI is not built (no dist/): run `npm run build` first, or `npm run pushline -- <args>` to run it from source\n',
  );
  process.exit(70);
}
await cli.main();
