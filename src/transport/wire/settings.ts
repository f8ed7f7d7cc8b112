/** The server's SETTINGS (RFC 9113 §6.5.2): their values, defaults and how a frame applies. */
import { connectionError } from './errors.js';
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  FLOW_CONTROL_ERROR,
  MAX_FRAME_SIZE_LIMIT,
  MAX_WINDOW,
  PROTOCOL_ERROR,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_CONCURRENT_STREAMS,
  SETTINGS_MAX_FRAME_SIZE,
  SETTINGS_MAX_HEADER_LIST_SIZE,
} from './frames.js';
import type { RequestHeaders } from './request-headers.js';

/** The server's settings (RFC 9113 §6.5.2), shaped like node's `Settings`. */
export interface WireSettings {
  headerTableSize: number;
  enablePush: boolean;
  maxConcurrentStreams: number;
  initialWindowSize: number;
  maxFrameSize: number;
  maxHeaderListSize: number;
}

/** What holds until the server's SETTINGS frame says otherwise. */
export function defaultSettings(): WireSettings {
  return {
    headerTableSize: 4096,
    enablePush: true,
    maxConcurrentStreams: 2 ** 32 - 1,
    initialWindowSize: DEFAULT_WINDOW,
    maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
    maxHeaderListSize: 2 ** 32 - 1,
  };
}

/**
 * Applies the 6-byte entries of a SETTINGS frame in `buf[start, end)` to `settings` (and the
 * header table size to the request encoder). Returns how much SETTINGS_INITIAL_WINDOW_SIZE
 * moved, for the caller to apply to every open stream's window (§6.9.2).
 * @throws a connection error for a value out of range.
 */
export function applySettings(
  settings: WireSettings,
  requestHeaders: RequestHeaders,
  buf: Buffer,
  start: number,
  end: number,
): number {
  let windowDelta = 0;
  for (let p = start; p < end; p += 6) {
    const key = buf.readUInt16BE(p);
    const value = buf.readUInt32BE(p + 2);
    switch (key) {
      case SETTINGS_HEADER_TABLE_SIZE:
        settings.headerTableSize = value;
        requestHeaders.setMaxTableSize(value);
        break;
      case SETTINGS_ENABLE_PUSH:
        // §6.5.2: a client MUST treat a server's ENABLE_PUSH other than 0 as a PROTOCOL_ERROR.
        if (value !== 0) throw connectionError(PROTOCOL_ERROR, `server sent SETTINGS_ENABLE_PUSH ${value}`);
        settings.enablePush = false;
        break;
      case SETTINGS_MAX_CONCURRENT_STREAMS:
        settings.maxConcurrentStreams = value;
        break;
      case SETTINGS_INITIAL_WINDOW_SIZE:
        if (value > MAX_WINDOW)
          throw connectionError(FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
        windowDelta += value - settings.initialWindowSize;
        settings.initialWindowSize = value;
        break;
      case SETTINGS_MAX_FRAME_SIZE:
        if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) {
          throw connectionError(PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value} out of range`);
        }
        settings.maxFrameSize = value;
        break;
      case SETTINGS_MAX_HEADER_LIST_SIZE:
        settings.maxHeaderListSize = value;
        break;
      default:
        // Unknown settings are ignored (§6.5.2).
        break;
    }
  }
  return windowDelta;
}
