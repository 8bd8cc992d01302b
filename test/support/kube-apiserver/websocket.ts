// A minimal server side of RFC 6455 (no extensions), enough for the
// Kubernetes exec channel protocols (v4/v5.channel.k8s.io) client-node speaks.
// Written here instead of importing `ws`, which is only a transitive dependency
// without type declarations.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface WebSocketConnection {
  readonly protocol: string;
  sendBinary(data: Buffer): void;
  close(code?: number): void;
  onMessage(fn: (data: Buffer, binary: boolean) => void): void;
  onClose(fn: () => void): void;
}

/** Completes the handshake, choosing the first of `supported` the client offers; undefined if none. */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, supported: readonly string[]): WebSocketConnection | undefined {
  const key = req.headers['sec-websocket-key'];
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const protocol = supported.find((p) => offered.includes(p));
  if (typeof key !== 'string' || !protocol) return undefined;
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  socket.write(
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${accept}\r\n` +
      `Sec-WebSocket-Protocol: ${protocol}\r\n\r\n`,
  );

  const messageHandlers: ((data: Buffer, binary: boolean) => void)[] = [];
  const closeHandlers: (() => void)[] = [];
  let closed = false;
  let buf: Buffer = head.length > 0 ? Buffer.from(head) : Buffer.alloc(0);
  let fragments: Buffer[] = [];
  let fragmentBinary = false;

  const frame = (opcode: number, payload: Buffer): Buffer => {
    const len = payload.length;
    let header: Buffer;
    if (len < 126) {
      header = Buffer.from([0x80 | opcode, len]);
    } else if (len < 65536) {
      header = Buffer.alloc(4);
      header[0] = 0x80 | opcode;
      header[1] = 126;
      header.writeUInt16BE(len, 2);
    } else {
      header = Buffer.alloc(10);
      header[0] = 0x80 | opcode;
      header[1] = 127;
      header.writeBigUInt64BE(BigInt(len), 2);
    }
    return Buffer.concat([header, payload]);
  };

  const finish = () => {
    if (closed) return;
    closed = true;
    for (const h of closeHandlers) h();
  };

  const conn: WebSocketConnection = {
    protocol,
    sendBinary(data) {
      if (!closed && socket.writable) socket.write(frame(0x2, data));
    },
    close(code = 1000) {
      if (closed) return;
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code, 0);
      if (socket.writable) socket.write(frame(0x8, payload));
      socket.end();
      finish();
    },
    onMessage(fn) {
      messageHandlers.push(fn);
    },
    onClose(fn) {
      closeHandlers.push(fn);
    },
  };

  const parse = () => {
    for (;;) {
      if (buf.length < 2) return;
      const b0 = buf[0]!;
      const b1 = buf[1]!;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        off = 10;
      }
      const maskOff = off;
      if (masked) off += 4;
      if (buf.length < off + len) return;
      const payload = Buffer.from(buf.subarray(off, off + len));
      if (masked) for (let i = 0; i < payload.length; i++) payload[i] = payload[i]! ^ buf[maskOff + (i % 4)]!;
      buf = buf.subarray(off + len);
      if (opcode === 0x8) {
        if (!closed && socket.writable) socket.write(frame(0x8, payload.subarray(0, 2)));
        socket.end();
        finish();
        return;
      }
      if (opcode === 0x9) {
        if (socket.writable) socket.write(frame(0xa, payload));
        continue;
      }
      if (opcode === 0xa) continue;
      if (opcode === 0x1 || opcode === 0x2) {
        fragments = [payload];
        fragmentBinary = opcode === 0x2;
      } else if (opcode === 0x0) {
        fragments.push(payload);
      }
      if (fin && (opcode <= 0x2)) {
        const data = Buffer.concat(fragments);
        fragments = [];
        for (const h of messageHandlers) h(data, fragmentBinary);
      }
    }
  };

  socket.on('data', (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    parse();
  });
  socket.on('close', finish);
  socket.on('error', finish);
  if (buf.length > 0) setImmediate(parse);
  return conn;
}
