import { describe, expect, it } from 'vitest';

import { FrameDecoder, FrameError, encodeFrame } from '../../src/rpc/framing.js';
import { MAX_FRAME_BYTES } from '../../src/rpc/protocol.js';

function header(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length, 0);
  return b;
}

function rawFrame(body: Buffer): Buffer {
  return Buffer.concat([header(body.length), body]);
}

/** Splits `data` into chunks of the given sizes (the rest goes in a last chunk). */
function split(data: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const size of sizes) {
    chunks.push(data.subarray(at, at + size));
    at += size;
  }
  if (at < data.length) chunks.push(data.subarray(at));
  return chunks;
}

function decodeAll(chunks: readonly Buffer[], decoder = new FrameDecoder()): unknown[] {
  return chunks.flatMap((c) => decoder.push(c));
}

describe('encodeFrame', () => {
  it('writes a 4-byte big-endian length followed by UTF-8 JSON', () => {
    const frame = encodeFrame({ a: 'é' });
    const json = Buffer.from('{"a":"é"}', 'utf8');
    expect(frame.readUInt32BE(0)).toBe(json.length);
    expect(frame.subarray(4).equals(json)).toBe(true);
  });

  it.each([
    ['a value larger than the limit', 'x'.repeat(MAX_FRAME_BYTES), /frame length 1048578 exceeds 1048576 bytes/],
    ['undefined', undefined, /cannot encode a value of type undefined/],
    ['a bigint', { n: 1n }, /cannot encode frame as JSON/],
  ])('refuses %s with a BadFrame error', (_name, value, message) => {
    let caught: unknown;
    try {
      encodeFrame(value);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as FrameError).code).toBe('BadFrame');
    expect((caught as FrameError).message).toMatch(message);
  });

  it('accepts a frame of exactly the limit', () => {
    const value = 'y'.repeat(MAX_FRAME_BYTES - 2);
    expect(encodeFrame(value).readUInt32BE(0)).toBe(MAX_FRAME_BYTES);
  });
});

describe('FrameDecoder', () => {
  const a = { v: 1, id: 1, method: 'add' };
  const b = { v: 1, id: 2, text: 'ünïcödé ✓' };
  const both = Buffer.concat([encodeFrame(a), encodeFrame(b)]);

  it.each([
    ['one chunk holding two frames', [] as number[]],
    ['one byte at a time', Array.from({ length: both.length }, () => 1)],
    ['header split in the middle', [2, 3]],
    ['split inside a multibyte character', [encodeFrame(a).length + 4 + 23, 1]],
    ['split exactly at the frame boundary', [encodeFrame(a).length]],
    ['second header straddling chunks', [encodeFrame(a).length + 3]],
  ])('decodes %s', (_name, sizes) => {
    const chunks = split(both, sizes);
    expect(decodeAll(chunks)).toEqual([a, b]);
  });

  it('returns nothing until a frame is complete and reports what is buffered', () => {
    const decoder = new FrameDecoder();
    const frame = encodeFrame(a);
    expect(decoder.push(frame.subarray(0, 6))).toEqual([]);
    expect(decoder.bufferedBytes).toBe(2);
    expect(decoder.hasPartialFrame).toBe(true);
    expect(decoder.push(frame.subarray(6))).toEqual([a]);
    expect(decoder.hasPartialFrame).toBe(false);
  });

  it('accepts an empty chunk', () => {
    expect(new FrameDecoder().push(Buffer.alloc(0))).toEqual([]);
  });

  it.each([
    ['a zero-length frame', rawFrame(Buffer.alloc(0)), /frame is empty \(length 0\)/],
    [
      'HTTP garbage',
      Buffer.from('GET / HTTP/1.1\r\n\r\n'),
      /^frame length 1195725856 exceeds 1048576 bytes \(is the peer speaking this protocol\?\)$/,
    ],
    ['a length of one byte over the limit', header(MAX_FRAME_BYTES + 1), /frame length 1048577 exceeds 1048576 bytes/],
    ['invalid JSON', rawFrame(Buffer.from('{"a":')), /^frame is not valid JSON: /],
    ['invalid UTF-8', rawFrame(Buffer.from([0x22, 0xc3, 0x28, 0x22])), /^frame of 4 bytes is not valid UTF-8$/],
  ])('throws BadFrame for %s', (_name, data, message) => {
    const decoder = new FrameDecoder();
    let caught: unknown;
    try {
      decoder.push(data);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as FrameError).code).toBe('BadFrame');
    expect((caught as FrameError).message).toMatch(message);
  });

  it('keeps the values decoded before a bad frame and stays failed', () => {
    const decoder = new FrameDecoder();
    const data = Buffer.concat([encodeFrame(a), rawFrame(Buffer.from('nope'))]);
    let caught: unknown;
    try {
      decoder.push(data);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(FrameError);
    expect((caught as FrameError).decodedBefore).toEqual([a]);
    expect(() => decoder.push(encodeFrame(b))).toThrow(FrameError);
  });

  it('honours a smaller custom limit', () => {
    const decoder = new FrameDecoder({ maxFrameBytes: 8 });
    expect(() => decoder.push(encodeFrame('0123456789'))).toThrow(/frame length 12 exceeds 8 bytes/);
  });

  it('decodes a frame of exactly the limit', () => {
    const value = 'z'.repeat(MAX_FRAME_BYTES - 2);
    const frame = encodeFrame(value);
    expect(decodeAll(split(frame, [100_000, 500_000]))).toEqual([value]);
  });
});
