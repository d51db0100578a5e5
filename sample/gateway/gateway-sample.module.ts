import { Module } from '@nestjs/common';
import { ChatGateway } from './chat.gateway';

/** The socket.io gateway `/chat` (Nest's default WebSocket adapter), on the app's own HTTP server. */
@Module({ providers: [ChatGateway] })
export class GatewaySampleModule {}
