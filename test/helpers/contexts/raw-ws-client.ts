import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';

/**
 * A WebSocket client written by hand over TCP, for attacks a real client
 * library would not make: it never answers a close frame (nor a ping), and it
 * keeps writing whatever the server says, so only closing the TCP connection
 * stops it. Frames are masked as RFC 6455 requires of a client.
 */
export interface RawWebSocket {
  /** Text frames the server sent, in order (close frames as `close:<code>`). */
  readonly received: string[];
  /** Resolves once the server closed the TCP connection (a FIN, a reset, or an error). */
  readonly ended: Promise<void>;
  readonly isEnded: boolean;
  /** Writes one masked text frame. */
  send(text: string): void;
  /** Writes frames as fast as the connection takes them, for `ms` or until it ends; resolves with how many. */
  flood(frame: (index: number) => string, ms: number): Promise<number>;
  destroy(): void;
}

/** Opens `path` (with its query) on `url`'s host by a hand-made upgrade; resolves once the server answered 101. */
export async function rawConnect(url: string, path = '/'): Promise<RawWebSocket> {
  const { hostname, port } = new URL(url);
  const socket = tcpConnect(Number(port), hostname);
  let isEnded = false;
  const ended = new Promise<void>((resolve) => {
    const end = () => {
      isEnded = true;
      resolve();
    };
    socket.once('close', end);
    socket.once('end', end);
    socket.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const received: string[] = [];
  let buffer: Buffer = Buffer.alloc(0);
  let upgraded = false;
  const upgrade = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end).toString();
        buffer = buffer.subarray(end + 4);
        if (!head.startsWith('HTTP/1.1 101')) {
          reject(new Error(`no upgrade: ${head.split('\r\n')[0]}`));
          return;
        }
        upgraded = true;
        resolve();
      }
      buffer = readFrames(buffer, received);
    });
    socket.once('close', () => reject(new Error('closed before the upgrade')));
  });
  await upgrade;

  const send = (text: string) => {
    socket.write(frame(text));
  };
  return {
    received,
    ended,
    get isEnded() {
      return isEnded;
    },
    send,
    async flood(make, ms) {
      const until = Date.now() + ms;
      let written = 0;
      while (!isEnded && Date.now() < until) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 50; i++) batch.push(frame(make(written++)));
        if (socket.write(Buffer.concat(batch))) {
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        // The server stopped reading: wait for it to read again, to close, or for the time to run out.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise((resolve) => socket.once('drain', resolve)),
          ended,
          new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, until - Date.now())))),
        ]);
        clearTimeout(timer);
      }
      return written;
    },
    destroy: () => socket.destroy(),
  };
}

/** A masked text frame. */
function frame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const length = payload.length;
  const head =
    length < 126 ? Buffer.from([0x81, 0x80 | length]) : Buffer.from([0x81, 0x80 | 126, length >> 8, length & 0xff]);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = payload[i] ^ mask[i % 4];
  return Buffer.concat([head, mask, masked]);
}

/** Takes the complete (unmasked, server-sent) frames off `buffer` into `received`; returns what is left. */
function readFrames(rest: Buffer, received: string[]): Buffer {
  let buffer = rest;
  for (;;) {
    if (buffer.length < 2) return buffer;
    const opcode = buffer[0] & 0x0f;
    let length = buffer[1] & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (buffer.length < 4) return buffer;
      length = buffer.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (buffer.length < 10) return buffer;
      length = Number(buffer.readBigUInt64BE(2));
      offset = 10;
    }
    if (buffer.length < offset + length) return buffer;
    const payload = buffer.subarray(offset, offset + length);
    if (opcode === 0x1) received.push(payload.toString());
    else if (opcode === 0x8) received.push(`close:${payload.length >= 2 ? payload.readUInt16BE(0) : ''}`);
    buffer = buffer.subarray(offset + length);
  }
}
