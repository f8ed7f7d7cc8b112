/** HTTP/2 conformance of both pool clients against nghttpd, see ./scenarios.ts. */
import { conformanceSuite } from './scenarios.js';

conformanceSuite('nghttpd');
