import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import type { Socket } from 'socket.io';
import { USERS_BY_TOKEN } from '../auth/users';

/**
 * The sample's token authentication for the gateway: the socket.io handshake's
 * `auth: { token }` (or an `Authorization: Token <key>` header) signs the
 * connection in, as `client.data.user`, where the user throttles read it.
 */
@Injectable()
export class WsTokenAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const client = context.switchToWs().getClient<Socket>();
    const header = client.handshake.headers.authorization;
    const token = (client.handshake.auth as { token?: unknown }).token ?? header?.replace(/^(token|bearer) /i, '');
    if (typeof token !== 'string' || token === '') return true;
    const user = USERS_BY_TOKEN.get(token);
    if (user === undefined) throw new WsException('Invalid token.');
    (client.data as { user?: unknown }).user = user;
    return true;
  }
}
