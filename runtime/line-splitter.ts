// Splits a text stream into '\n'-terminated lines: the frames of the key-value bootstrap
// protocol (launcher/kv-server.ts serves it, runtime/bootstrap.ts is the rank's client).
// Only the new chunk is scanned for '\n', so a long frame arriving in pieces costs linear time.
export class LineSplitter {
  #parts: string[] = [];
  #pendingLength = 0;

  /** Length of the line received so far but not yet ended (for frame-size limits). */
  get pendingLength(): number {
    return this.#pendingLength;
  }

  /**
   * Calls onLine for every line the chunk completes, in order. When onLine returns false the
   * rest of the chunk is dropped and push returns false (the caller closes the connection).
   */
  push(chunk: string, onLine: (line: string) => boolean | void): boolean {
    let start = 0;
    let nl: number;
    while ((nl = chunk.indexOf('\n', start)) >= 0) {
      this.#parts.push(chunk.slice(start, nl));
      const line = this.#parts.join('');
      this.#parts = [];
      this.#pendingLength = 0;
      start = nl + 1;
      if (onLine(line) === false) return false;
    }
    if (start < chunk.length) {
      this.#parts.push(chunk.slice(start));
      this.#pendingLength += chunk.length - start;
    }
    return true;
  }
}
