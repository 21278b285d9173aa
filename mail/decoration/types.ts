// A decoration handler: a small named step of the decoration pipeline, a pure function over raw bytes.
import { Headers } from '@zone-eu/mailsplit';
import { splitHeaderBlock } from '../message.js';
import type { DecorationContext } from './context.js';

export interface Handler {
  name: string;
  description: string;
  /** The message after this step; the input itself when the step has nothing to do. */
  apply(raw: Buffer, ctx: DecorationContext): Buffer;
}

/** Edits the header block only; the body bytes are carried over as they are. */
export function editHeaders(raw: Buffer, edit: (headers: Headers) => void): Buffer {
  const { header, body } = splitHeaderBlock(raw);
  const headers = new Headers(header);
  edit(headers);
  return headers.changed ? Buffer.concat([headers.build(), body]) : raw;
}
