/** HTTP/2 conformance of both pool clients against nginx, see ./scenarios.ts. */
import { conformanceSuite } from './scenarios.js';

conformanceSuite('nginx');
