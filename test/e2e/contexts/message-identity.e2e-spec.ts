/**
 * Identity from a message field is the sender's word (issue 24 item 6), on a
 * TCP microservice: a tenant read from the payload alone lets a caller take
 * a fresh bucket per message or spend another tenant's quota; the recipes of
 * docs/contexts.md (the tenant per sender plus a sender throttle, or the
 * tenant a verified token names) bound both.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { AddressInfo, Server } from 'node:net';
import { Controller, Injectable, type INestMicroservice } from '@nestjs/common';
import { ClientProxyFactory, MessagePattern, Payload, Transport, type ClientProxy } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { firstValueFrom } from 'rxjs';
import { RestflowThrottleModule, SimpleRateThrottle, Throttle, type ThrottleRequest } from 'restflow-throttle';

const SECRET = 'message-token-secret';
const sign = (tenant: string) => `${tenant}.${createHmac('sha256', SECRET).update(tenant).digest('base64url')}`;

function field(request: ThrottleRequest, name: string): string | undefined {
  const { data } = request as ThrottleRequest & { data?: Record<string, unknown> | null };
  const value = data?.[name];
  return typeof value === 'string' ? value : undefined;
}

/** The docs' first example: the tenant named in the message, nothing else. */
class NamedTenantThrottle extends SimpleRateThrottle {
  override scope = 'tenant';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(`tenant:${field(request, 'tenantId') ?? ''}`);
  }
}

class SenderThrottle extends SimpleRateThrottle {
  override scope = 'sender';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(`ip:${this.getIdent(request)}`);
  }
}

class TenantPerSenderThrottle extends SimpleRateThrottle {
  override scope = 'tenant';
  getCacheKey(request: ThrottleRequest): string {
    return this.formatKey(`tenant:${field(request, 'tenantId') ?? ''}@${this.getIdent(request)}`);
  }
}

@Injectable()
class MessageTokens {
  tenantOf(token: string | undefined): string | undefined {
    const dot = token?.lastIndexOf('.') ?? -1;
    if (token === undefined || dot <= 0) return undefined;
    const tenant = token.slice(0, dot);
    const expected = createHmac('sha256', SECRET).update(tenant).digest();
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected) ? tenant : undefined;
  }
}

@Injectable()
class VerifiedTenantThrottle extends SimpleRateThrottle {
  override scope = 'verified_tenant';
  constructor(private readonly tokens: MessageTokens) {
    super();
  }
  getCacheKey(request: ThrottleRequest): string {
    const tenant = this.tokens.tenantOf(field(request, 'token'));
    return this.formatKey(tenant === undefined ? `ip:${this.getIdent(request)}` : `tenant:${tenant}`);
  }
}

@Controller()
class ReportsController {
  @MessagePattern('named')
  @Throttle([NamedTenantThrottle])
  named(@Payload() message: unknown) {
    return message;
  }

  @MessagePattern('per-sender')
  @Throttle([SenderThrottle, TenantPerSenderThrottle])
  perSender(@Payload() message: unknown) {
    return message;
  }

  @MessagePattern('verified')
  @Throttle([VerifiedTenantThrottle])
  verified(@Payload() message: unknown) {
    return message;
  }
}

const RATES = { tenant: '1/min', sender: '3/min', verified_tenant: '1/min' };

let app: INestMicroservice;
let client: ClientProxy;

beforeEach(async () => {
  const moduleRef = await Test.createTestingModule({
    imports: [RestflowThrottleModule.forRoot({ rates: RATES })],
    controllers: [ReportsController],
    providers: [MessageTokens, VerifiedTenantThrottle],
  }).compile();
  const tcp = { transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 } } as const;
  app = moduleRef.createNestMicroservice({ ...tcp, logger: false });
  await app.listen();
  const port = (app.unwrap<Server>().address() as AddressInfo).port;
  client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
  await client.connect();
});
afterEach(async () => {
  await client.close();
  await app.close();
});

/** `ok`, or the code of the RPC error the message got. */
async function outcome(pattern: string, data: object): Promise<string> {
  try {
    await firstValueFrom(client.send(pattern, data));
    return 'ok';
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
}

async function outcomes(pattern: string, data: (i: number) => object, n: number): Promise<string[]> {
  const result: string[] = [];
  for (let i = 0; i < n; i++) result.push(await outcome(pattern, data(i)));
  return result;
}

it("the field alone: a fresh tenant id per message is never limited; naming acme spends acme's quota", async () => {
  expect(await outcomes('named', (i) => ({ tenantId: `fresh-${i}` }), 10)).toEqual(Array(10).fill('ok'));
  expect(await outcome('named', { tenantId: 'acme' })).toBe('ok'); // someone else's name
  expect(await outcome('named', { tenantId: 'acme' })).toBe('THROTTLED'); // the real acme, refused
});

it('the tenant per sender, and the sender throttle: fresh tenant ids buy no fresh quota', async () => {
  expect(await outcomes('per-sender', (i) => ({ tenantId: `fresh-${i}` }), 10)).toEqual([
    'ok',
    'ok',
    'ok',
    ...Array(7).fill('THROTTLED'),
  ]);
});

it("a verified token: a message naming acme without acme's token counts for its sender, never for acme", async () => {
  expect(await outcome('verified', { token: 'acme.forged' })).toBe('ok');
  expect(await outcome('verified', { token: 'acme.forged' })).toBe('THROTTLED');
  expect(await outcome('verified', { token: sign('acme') })).toBe('ok');
  expect(await outcome('verified', { token: sign('acme') })).toBe('THROTTLED');
  expect(await outcome('verified', { token: sign('globex') })).toBe('ok');
});
