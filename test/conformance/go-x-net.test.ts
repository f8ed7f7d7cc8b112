/** HTTP/2 conformance of both pool clients against Go's golang.org/x/net/http2 server (./go-server), see ./scenarios.ts. */
import { conformanceSuite } from './scenarios.js';

conformanceSuite('go');
