#!/usr/bin/env node
// The published `pushline` command: runs the compiled CLI (npm run build makes dist/).
import { main } from '../dist/cli/index.js';

await main();
