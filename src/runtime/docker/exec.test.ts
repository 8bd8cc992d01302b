import { describe, expect, it } from 'vitest';
import { CappedSink, trimIncompleteUtf8 } from './exec.js';

const write = (sink: CappedSink, ...chunks: Buffer[]): Promise<void> =>
  new Promise((resolve) => {
    for (const c of chunks) sink.write(c);
    sink.end(resolve);
  });

describe('CappedSink', () => {
  it('keeps everything under the cap', async () => {
    const s = new CappedSink(10);
    await write(s, Buffer.from('abc'), Buffer.from('def'));
    expect(s.text()).toBe('abcdef');
    expect(s.truncated).toBe(false);
  });

  it('keeps exactly the cap across chunks and says it truncated', async () => {
    const s = new CappedSink(5);
    await write(s, Buffer.from('abc'), Buffer.from('defgh'), Buffer.from('ij'));
    expect(s.text()).toBe('abcde');
    expect(s.truncated).toBe(true);
  });

  it('an output of exactly the cap is not truncated', async () => {
    const s = new CappedSink(3);
    await write(s, Buffer.from('abc'));
    expect(s.truncated).toBe(false);
  });

  it('drops a character the cap cut in half instead of mangling it', async () => {
    const s = new CappedSink(4);
    await write(s, Buffer.from('abcé')); // é is 2 bytes: the cap falls inside it
    expect(s.text()).toBe('abc');
    expect(s.truncated).toBe(true);
  });
});

describe('trimIncompleteUtf8', () => {
  it('removes only an incomplete trailing sequence', () => {
    const euro = Buffer.from('€'); // 3 bytes
    expect(trimIncompleteUtf8(Buffer.concat([Buffer.from('a'), euro.subarray(0, 2)])).toString()).toBe('a');
    expect(trimIncompleteUtf8(Buffer.concat([Buffer.from('a'), euro])).toString()).toBe('a€');
    const emoji = Buffer.from('😀'); // 4 bytes
    expect(trimIncompleteUtf8(Buffer.concat([Buffer.from('x'), emoji.subarray(0, 3)])).toString()).toBe('x');
    expect(trimIncompleteUtf8(Buffer.from('plain')).toString()).toBe('plain');
    expect(trimIncompleteUtf8(Buffer.alloc(0)).length).toBe(0);
  });
});
