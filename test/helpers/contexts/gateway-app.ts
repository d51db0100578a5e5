import {
  Injectable,
  UseGuards,
  type CanActivate,
  type ExecutionContext,
  type INestApplication,
  type LoggerService,
} from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { IoAdapter } from '@nestjs/platform-socket.io';
import { WsAdapter } from '@nestjs/platform-ws';
import { Test } from '@nestjs/testing';
import { MessageBody, SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import {
  AnonRateThrottle,
  RestflowThrottleModule,
  SimpleRateThrottle,
  SkipThrottle,
  Throttle,
  throttleConnection,
  UserRateThrottle,
  type RestflowThrottleOptions,
  type ThrottleRequest,
} from 'restflow-throttle';
import { serve, type Platform, type TestApp } from '../http-app';

export type WsTransport = 'socket.io' | 'ws';
export const WS_TRANSPORTS: WsTransport[] = ['socket.io', 'ws'];

/** The handshake's `Authorization: Token <id>` signs the connection in (socket.io: `client.data.user`; ws: `client.user`). */
@Injectable()
export class HandshakeAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const client = context.switchToWs().getClient<{
      handshake?: { headers: ThrottleRequest['headers'] };
      request?: { headers: ThrottleRequest['headers'] };
      data?: { user?: unknown };
      user?: unknown;
    }>();
    const auth = (client.handshake ?? client.request)?.headers.authorization;
    if (typeof auth !== 'string' || !auth.startsWith('Token ')) return true;
    const user = { id: auth.slice(6) };
    if (client.data !== undefined) client.data.user = user;
    else client.user = user;
    return true;
  }
}

/** New connections per client address. */
export class ConnectionRateThrottle extends SimpleRateThrottle {
  override scope = 'connect';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

@WebSocketGateway()
@UseGuards(HandshakeAuthGuard)
@Throttle([AnonRateThrottle])
export class ChatGateway implements OnGatewayConnection {
  @SubscribeMessage('chat')
  chat(@MessageBody() text: string): { event: string; data: string } {
    return { event: 'chat', data: `echo ${text}` };
  }

  @SubscribeMessage('ping')
  @SkipThrottle()
  ping(): { event: string; data: string } {
    return { event: 'pong', data: 'pong' };
  }

  @SubscribeMessage('typing')
  @Throttle([UserRateThrottle])
  typing(): { event: string; data: string } {
    return { event: 'typing', data: 'ok' };
  }

  @Throttle([ConnectionRateThrottle])
  async handleConnection(client: object, request: IncomingMessage): Promise<void> {
    await throttleConnection(this, client, request);
  }
}

/** Throttled messages, connections left alone. */
@WebSocketGateway()
@Throttle([AnonRateThrottle])
export class MessagesGateway {
  @SubscribeMessage('chat')
  chat(@MessageBody() text: string): { event: string; data: string } {
    return { event: 'chat', data: `echo ${text}` };
  }
}

/**
 * A gateway that calls throttleConnection() but declares no connection
 * throttles: a mistake the module reports once per class, so each test gets
 * a class of its own.
 */
export function undeclaredConnectionsGateway(): Function {
  @WebSocketGateway()
  class UndeclaredConnectionsGateway implements OnGatewayConnection {
    @SubscribeMessage('ping')
    ping(): { event: string; data: string } {
      return { event: 'pong', data: 'pong' };
    }

    async handleConnection(client: object, request: IncomingMessage): Promise<void> {
      await throttleConnection(this, client, request);
    }
  }
  return UndeclaredConnectionsGateway;
}

export const RATES = { anon: '2/min', user: '2/min', connect: '3/min' };

/** A real app with the chat gateway on its HTTP server, through socket.io or ws, on Express or Fastify. */
export async function startGatewayApp(
  platform: Platform,
  transport: WsTransport,
  options: RestflowThrottleOptions = {},
  logger: LoggerService | false = false,
  gateway: Function = ChatGateway,
): Promise<TestApp> {
  const moduleRef = await Test.createTestingModule({
    imports: [RestflowThrottleModule.forRoot({ rates: RATES, ...options })],
    providers: [gateway as new () => object],
  }).compile();
  const app: INestApplication =
    platform === 'fastify'
      ? moduleRef.createNestApplication(new FastifyAdapter(), { logger })
      : moduleRef.createNestApplication({ logger });
  app.useWebSocketAdapter(transport === 'ws' ? new WsAdapter(app) : new IoAdapter(app));
  return serve(app);
}
