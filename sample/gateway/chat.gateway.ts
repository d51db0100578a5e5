import { UseGuards } from '@nestjs/common';
import { MessageBody, SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import {
  AnonRateThrottle,
  SimpleRateThrottle,
  SkipThrottle,
  Throttle,
  throttleConnection,
  UserRateThrottle,
  type ThrottleRequest,
} from 'restflow-throttle';
import type { Socket } from 'socket.io';
import { WsTokenAuthGuard } from './ws-token-auth.guard';

/** New connections per client address: 5 a minute. */
export class ConnectionRateThrottle extends SimpleRateThrottle {
  override scope = 'connections';
  override rate = '5/min';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

/**
 * A socket.io gateway on the namespace `/chat` of the app's own server.
 * Messages are throttled as HTTP requests are: `anon` per address (the
 * handshake's, with `numProxies` applied to its X-Forwarded-For), `user` per
 * signed-in user. A throttled message gets Nest's `exception` event with
 * DRF's detail, `code: 'THROTTLED'` and `retryAfter`; a throttled connection
 * gets the same event and is disconnected.
 */
@WebSocketGateway({ namespace: 'chat' })
@UseGuards(WsTokenAuthGuard)
@Throttle([AnonRateThrottle, UserRateThrottle])
export class ChatGateway implements OnGatewayConnection {
  @Throttle([ConnectionRateThrottle])
  async handleConnection(client: Socket): Promise<void> {
    if (!(await throttleConnection(this, client))) return;
    client.emit('welcome', 'Say something: emit "say" with a text.');
  }

  @SubscribeMessage('say')
  say(@MessageBody() text: string): { event: string; data: string } {
    return { event: 'said', data: text };
  }

  @SubscribeMessage('ping')
  @SkipThrottle()
  ping(): { event: string; data: string } {
    return { event: 'pong', data: 'pong' };
  }
}
