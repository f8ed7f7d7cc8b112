/** The dashboard (`/ui`): what `buildServer()` registers, and what the inbox renders with. */
export { SendDirectory, type SendDirectoryOptions, type TrackedSend } from './directory.js';
export { escapeHtml, html, page, raw, SafeHtml } from './html.js';
export { type MountedPages, type UiDeps, uiRoutes } from './routes.js';
export { SessionStore } from './sessions.js';
export { EventStream, type Patch } from './sse.js';
