/** The emulator inbox: what the emulators accepted, drawn as devices show it (`/inbox`). */
export { Inbox, type InboxFilter, type InboxOptions, type InboxSources } from './inbox.js';
export type { InboxItem, InboxLook, InboxProvider, InboxView } from './items.js';
export {
  type InboxPages,
  type InboxPagesOptions,
  type InboxServer,
  inboxPages,
  startInboxServer,
} from './pages.js';
