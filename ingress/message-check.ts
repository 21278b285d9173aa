// Checks a message as DATA streams in, without buffering: size, line length, and CRLF-only line ends. Once a
// check fails, nothing more is passed on, so a 200 MB message over the limit costs no memory.
import { Transform, type TransformCallback } from 'node:stream';
import { MAX_LINE_OCTETS } from './limits.js';

export type MessageProblem = 'size' | 'line' | 'bare-lf' | 'bare-cr';

const CR = 0x0d;
const LF = 0x0a;

export interface MessageCheckOptions {
  maxBytes: number;
  /** Told the running total of bytes received (for the DATA rate). */
  onBytes?: (total: number) => void;
}

/**
 * A pass-through for one message's (dot-unstuffed) bytes. While every check holds, chunks go through unchanged;
 * at the first failure `problem` is set, 'refused' is emitted once, and the rest of the message is only counted.
 * Bare CR or LF is refused because anything that is not CRLF is where SMTP smuggling hides (`<LF>.<LF>`,
 * `<CR>.<CR>`, `<LF>.<CR><LF>`…): a message holding one would be ended early by some server downstream.
 */
export class MessageCheck extends Transform {
  problem: MessageProblem | null = null;
  bytes = 0;
  /** Octets of the current line so far, without its CRLF. */
  private lineLength = 0;
  /** The previous chunk ended in CR: this one must begin with LF. */
  private pendingCR = false;

  constructor(private readonly options: MessageCheckOptions) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.options.onBytes?.(this.bytes);
    if (!this.problem && this.bytes > this.options.maxBytes) this.refuse('size');
    if (!this.problem) this.scan(chunk);
    if (!this.problem) this.push(chunk);
    callback();
  }

  override _flush(callback: TransformCallback): void {
    // smtp-server hands over the message with its last CRLF; a CR left over was never followed by LF.
    if (!this.problem && this.pendingCR) this.refuse('bare-cr');
    callback();
  }

  private refuse(problem: MessageProblem): void {
    this.problem = problem;
    this.emit('refused', problem);
  }

  private scan(chunk: Buffer): void {
    let pos = 0;
    if (this.pendingCR) {
      if (chunk[0] !== LF) return this.refuse('bare-cr');
      this.pendingCR = false;
      this.lineLength = 0;
      pos = 1;
    }
    while (pos < chunk.length) {
      const lf = chunk.indexOf(LF, pos);
      const cr = chunk.indexOf(CR, pos);
      if (lf === -1) {
        // The line goes on into the next chunk; a CR may only be its last byte (the first half of a CRLF).
        if (cr !== -1 && cr < chunk.length - 1) return this.refuse('bare-cr');
        this.pendingCR = cr === chunk.length - 1;
        this.lineLength += chunk.length - pos - (this.pendingCR ? 1 : 0);
        if (this.lineLength > MAX_LINE_OCTETS) this.refuse('line');
        return;
      }
      // The byte before an LF is this chunk's (an LF right at pos follows an LF or starts the chunk: bare).
      if (lf === pos || chunk[lf - 1] !== CR) return this.refuse('bare-lf');
      if (cr < lf - 1) return this.refuse('bare-cr');
      this.lineLength += lf - 1 - pos;
      if (this.lineLength > MAX_LINE_OCTETS) return this.refuse('line');
      this.lineLength = 0;
      pos = lf + 1;
    }
  }
}
