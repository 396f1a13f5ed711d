// The launcher -> remote wrapper protocol on an exec channel's stdin.
//
// The first line is the job secret (ZCMPI_KV_SECRET) followed by "\n". After it the
// channel's stdin carries frames: 1 type byte, a 4-byte big-endian length, the payload.
//   'D' payload: bytes for the rank's stdin (only when stdin is forwarded to that rank)
//   'E' (empty): end of the rank's stdin
//   'K' payload: a signal name (e.g. "SIGTERM") to send to the rank's process group
//   'H' (empty): heartbeat, sent every HEARTBEAT_MS while the rank runs
// The channel's stdin itself stays open for the life of the rank, so the wrapper takes
// end-of-file on it as "the launcher or the connection is gone" and kills the rank. A
// connection that silently stops carrying data (a network partition: no FIN, no RST, and
// sshd would not notice for hours) shows up as missing heartbeats instead.
// remote-wrapper.ts holds the decoder (inline JavaScript run on the remote host).

export const FRAME_DATA = 0x44; // 'D'
export const FRAME_EOF = 0x45; // 'E'
export const FRAME_KILL = 0x4b; // 'K'
export const FRAME_HEARTBEAT = 0x48; // 'H'
/** Launcher -> wrapper heartbeat period. */
export const HEARTBEAT_MS = 1000;
/** Silence after which a wrapper gives its launcher up and kills the rank. */
export const HEARTBEAT_TIMEOUT_MS = 6000;
export const MAX_FRAME = 1 << 20;

export function encodeFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_FRAME) throw new Error(`frame too large: ${payload.length} bytes`);
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** Splits stdin data into frames of at most MAX_FRAME bytes. */
export function encodeData(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_FRAME) out.push(encodeFrame(FRAME_DATA, data.subarray(off, off + MAX_FRAME)));
  return out;
}

/** Incremental decoder (the launcher never decodes; this is for tests of the format). */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): { type: number; payload: Buffer }[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: { type: number; payload: Buffer }[] = [];
    while (this.buf.length >= 5) {
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < 5 + len) break;
      out.push({ type: this.buf[0], payload: this.buf.subarray(5, 5 + len) });
      this.buf = this.buf.subarray(5 + len);
    }
    return out;
  }
}
