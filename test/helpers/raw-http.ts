import { connect } from 'node:net';

/**
 * Sends bytes exactly as given (no client-side header validation, unlike
 * fetch) and returns the status code of the answer, or 0 when the server
 * closed the connection without one.
 */
export function rawRequest(port: number, head: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.setTimeout(5000, () => socket.destroy(new Error('raw request timed out')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? resolve(status()) : reject(error),
    );
    socket.on('close', () => resolve(status()));
    socket.end(head);
    function status(): number {
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(Buffer.concat(chunks).toString('latin1'));
      return match === null ? 0 : Number(match[1]);
    }
  });
}

/** A GET with the given header lines, closing the connection after the answer. */
export function rawGet(port: number, path: string, headerLines: Array<string | Buffer>): Promise<number> {
  const parts: Buffer[] = [Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`, 'latin1')];
  for (const line of headerLines)
    parts.push(typeof line === 'string' ? Buffer.from(line, 'latin1') : line, Buffer.from('\r\n'));
  parts.push(Buffer.from('\r\n'));
  return rawRequest(port, Buffer.concat(parts));
}
