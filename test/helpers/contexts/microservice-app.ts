import { Controller, type INestMicroservice, type LoggerService } from '@nestjs/common';
import {
  ClientProxyFactory,
  EventPattern,
  MessagePattern,
  Payload,
  Transport,
  type ClientProxy,
} from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import type { AddressInfo, Server } from 'node:net';
import { firstValueFrom } from 'rxjs';
import {
  AnonRateThrottle,
  RestflowThrottleModule,
  SimpleRateThrottle,
  SkipThrottle,
  Throttle,
  type RestflowThrottleOptions,
  type ThrottleRequest,
} from 'restflow-throttle';

/** DRF's recipe for a custom ident, on a message: one bucket per tenant named in the payload. */
export class TenantThrottle extends SimpleRateThrottle {
  override scope = 'tenant';
  override getIdent(request: ThrottleRequest): string {
    const { data } = request as ThrottleRequest & { data?: { tenantId?: unknown } };
    return typeof data?.tenantId === 'string' ? `tenant:${data.tenantId}` : super.getIdent(request);
  }
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(this.getIdent(request));
  }
}

@Controller()
@Throttle([AnonRateThrottle])
export class MathController {
  /** Events that got through, for the event test. */
  readonly audited: string[] = [];

  @MessagePattern('sum')
  sum(@Payload() numbers: number[]): number {
    return numbers.reduce((a, b) => a + b, 0);
  }

  @MessagePattern('health')
  @SkipThrottle()
  health(): string {
    return 'ok';
  }

  @MessagePattern('report')
  @Throttle([TenantThrottle])
  report(@Payload() data: { tenantId: string }): string {
    return `report for ${data.tenantId}`;
  }

  @EventPattern('audit')
  audit(@Payload() entry: string): void {
    this.audited.push(entry);
  }
}

export const RATES = { anon: '2/min', tenant: '1/min' };

export type RpcTransport = 'tcp' | 'redis';

/** A microservice with the math controller, and a client factory for it. */
export interface TestMicroservice {
  app: INestMicroservice;
  /** A new ClientProxy, connected. */
  client(): Promise<ClientProxy>;
  /** `client.send(pattern, data)`, as a promise. */
  send(client: ClientProxy, pattern: string, data: unknown): Promise<unknown>;
  close(): Promise<void>;
}

/** Starts the microservice on TCP (a free port) or on the Redis server at `redisPort`. */
export async function startMicroservice(
  transport: RpcTransport,
  options: RestflowThrottleOptions = {},
  redisPort?: number,
  logger: LoggerService | false = false,
): Promise<TestMicroservice> {
  const moduleRef = await Test.createTestingModule({
    imports: [RestflowThrottleModule.forRoot({ rates: RATES, ...options })],
    controllers: [MathController],
  }).compile();
  const settings =
    transport === 'tcp'
      ? ({ transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 } } as const)
      : ({ transport: Transport.REDIS, options: { host: '127.0.0.1', port: redisPort! } } as const);
  const app = moduleRef.createNestMicroservice({ ...settings, logger });
  await app.listen();
  const clientOptions =
    transport === 'tcp'
      ? ({
          transport: Transport.TCP,
          options: { host: '127.0.0.1', port: (app.unwrap<Server>().address() as AddressInfo).port },
        } as const)
      : settings;
  const clients: ClientProxy[] = [];
  return {
    app,
    async client() {
      const client = ClientProxyFactory.create(clientOptions);
      clients.push(client);
      await client.connect();
      return client;
    },
    send: (client, pattern, data) => firstValueFrom(client.send(pattern, data)),
    async close() {
      for (const client of clients) await client.close();
      await app.close();
    },
  };
}
