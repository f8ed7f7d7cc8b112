/** Entry point for `node --import tsx src/cli/main.ts …` (and `npm start`). */
import { main } from './index.js';

await main();
