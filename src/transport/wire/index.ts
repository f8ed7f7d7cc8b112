/** pushline's own HTTP/2 client framing (pool protocol `h2-wire`; apns() and fcm() default to it). */

export { WireError, type WireErrorCode } from './errors.js';
export { CompressionError, HpackDecoder } from './hpack-decoder.js';
export { ByteWriter, HpackEncoder } from './hpack-encoder.js';
export { huffmanDecode } from './huffman.js';
export {
  WireSession,
  type WireSessionOptions,
  type WireSettings,
  type WireStreamHandlers,
} from './session.js';
export { WireStream, type WireStreamSession } from './stream.js';
