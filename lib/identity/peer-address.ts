/**
 * Keeps each connection's peer address from the moment the server accepts it, for requests whose socket is reset
 * later.
 */
import { Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

/** A server's new connections: plain TCP (`connection`), and TLS once the handshake is done (`secureConnection`). */
const CONNECTION_EVENTS = ['connection', 'secureConnection'] as const;

/** What this hook needs of a Node HTTP, HTTPS or HTTP/2 server. */
interface ConnectionEvents {
  prependListener(event: string, listener: (socket: { readonly remoteAddress?: string }) => void): unknown;
  removeListener(event: string, listener: (socket: { readonly remoteAddress?: string }) => void): unknown;
}

/**
 * Keeps each connection's peer address for as long as its requests live.
 *
 * Node reads a socket's address from the operating system the first time
 * `remoteAddress` is asked, and caches it; asked only after the connection
 * was reset, it is `undefined`. A client that resets its connection right
 * after sending a request would then reach the throttles with no address at
 * all. Asking once when the server accepts the connection (before any byte
 * of the request is read) makes the address the one the request arrived
 * from, whatever happens to the socket later. Express and Fastify alike: it
 * hooks the Node server under Nest's HTTP adapter, and does nothing in an
 * application without one (microservices only).
 */
@Injectable()
export class PeerAddressHook implements OnModuleInit, OnApplicationShutdown {
  private server: ConnectionEvents | undefined;

  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Partial<ConnectionEvents> | undefined;
    if (typeof server?.prependListener !== 'function' || typeof server.removeListener !== 'function') return;
    this.server = server as ConnectionEvents;
    for (const event of CONNECTION_EVENTS) this.server.prependListener(event, readPeerAddress);
  }

  onApplicationShutdown(): void {
    for (const event of CONNECTION_EVENTS) this.server?.removeListener(event, readPeerAddress);
    this.server = undefined;
  }
}

/** Reading the getter is the point: Node caches the answer on the socket. */
function readPeerAddress(socket: { readonly remoteAddress?: string }): void {
  void socket.remoteAddress;
}
