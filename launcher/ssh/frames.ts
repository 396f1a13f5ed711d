// The launcher <-> per-host daemon protocol on the host's one exec channel
// (remote-command.ts has the daemon).
//
// Launcher -> daemon, on the channel's stdin: the job secret (ZCMPI_KV_SECRET) as the first
// line, then frames: 1 type byte, a 4-byte big-endian length, the payload. Every frame but
// 'H' and 'B' starts its payload with the 4-byte rank it is for.
//   'B' bundle: 4-byte header length, JSON {hash, path, program}, the compiled program
//   'S' rank + JSON RankStartRequest: start that rank
//   'D' rank + bytes for its stdin      'E' rank: end of its stdin
//   'K' rank + a signal name (e.g. "SIGTERM") for its process group; rank ALL_RANKS: every rank
//   'H' (empty): heartbeat, sent every HEARTBEAT_MS
// The channel's stdin stays open for the life of the job, so the daemon takes end of file on
// it as "the launcher or the connection is gone" (or, with no rank running, as the end). A
// connection that silently stops carrying data (a network partition: no FIN, no RST) shows
// up as missing heartbeats instead.
//
// Daemon -> launcher, on the channel's stdout: "ZCMPI-DAEMON <pid>\n", then frames of the
// same shape, each for one rank:
//   'P' pid (decimal text): started      'F' reason: could not be started
//   'O' / 'R' bytes the rank wrote to stdout / stderr
//   'X' JSON {code, signal}: how it ended (after its output)

export const FRAME_BUNDLE = 0x42; // 'B'
export const FRAME_START = 0x53; // 'S'
export const FRAME_DATA = 0x44; // 'D'
export const FRAME_EOF = 0x45; // 'E'
export const FRAME_KILL = 0x4b; // 'K'
export const FRAME_HEARTBEAT = 0x48; // 'H'
export const FRAME_STARTED = 0x50; // 'P'
export const FRAME_FAILED = 0x46; // 'F'
export const FRAME_STDOUT = 0x4f; // 'O'
export const FRAME_STDERR = 0x52; // 'R'
export const FRAME_EXIT = 0x58; // 'X'
export const ALL_RANKS = 0xffffffff;
/** Launcher -> daemon heartbeat period. */
export const HEARTBEAT_MS = 1000;
/** Silence after which a daemon gives its launcher up and ends every rank. */
export const HEARTBEAT_TIMEOUT_MS = 6000;
/** Largest stdin piece per frame (a bundle frame may be larger). */
export const MAX_FRAME = 1 << 20;

export function encodeFrame(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32BE(payload.length, 1);
  return Buffer.concat([head, payload]);
}

/** A frame for one rank (or ALL_RANKS): the rank, then the payload. */
export function encodeRankFrame(type: number, rank: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const head = Buffer.alloc(9);
  head[0] = type;
  head.writeUInt32BE(p.length + 4, 1);
  head.writeUInt32BE(rank >>> 0, 5);
  return Buffer.concat([head, p]);
}

/** Splits a rank's stdin data into frames of at most MAX_FRAME bytes. */
export function encodeData(rank: number, data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_FRAME) out.push(encodeRankFrame(FRAME_DATA, rank, data.subarray(off, off + MAX_FRAME)));
  return out;
}

/** The compiled program for the daemon: stored there unless the host already sees the launcher's copy. */
export function encodeBundle(hash: string, path: string, program: string, bytes: Buffer): Buffer {
  const header = Buffer.from(JSON.stringify({ hash, path, program }));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(header.length);
  return encodeFrame(FRAME_BUNDLE, Buffer.concat([len, header, bytes]));
}

export interface Frame { type: number; payload: Buffer }

/** Incremental decoder of frames. */
export class FrameDecoder {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Frame[] = [];
    let off = 0;
    while (this.buf.length - off >= 5) {
      const len = this.buf.readUInt32BE(off + 1);
      if (this.buf.length - off < 5 + len) break;
      out.push({ type: this.buf[off], payload: this.buf.subarray(off + 5, off + 5 + len) });
      off += 5 + len;
    }
    this.buf = this.buf.subarray(off);
    return out;
  }
}
