/**
 * Nest's WebSocket and microservice exception filters recognise their errors
 * by `instanceof` (`WsException`, `RpcException`); anything else reaches the
 * client as "Internal server error". Those packages are optional for users of
 * this library, so their classes are loaded only once a handler of that
 * transport has been found, never when this module loads: with `require`
 * where it exists (the CommonJS build, which shares the app's module
 * instances), else with `import()`, started at startup by `handlerKind()`.
 * Their base filters come along, to answer in Nest's form from the module's
 * own filter.
 */
import type { ArgumentsHost } from '@nestjs/common';

/** The exception class of a transport: built from an error object, as Nest's are. */
export type TransportExceptionClass = new (error: object) => Error;

/** Nest's base filter of a transport (`BaseWsExceptionFilter`, `BaseRpcExceptionFilter`): how it answers an error. */
export type TransportFilterClass = new () => { catch(exception: unknown, host: ArgumentsHost): unknown };

type Transport = 'ws' | 'rpc';

const SOURCES: Readonly<Record<Transport, readonly [specifier: string, exportName: string, filterName: string]>> = {
  ws: ['@nestjs/websockets', 'WsException', 'BaseWsExceptionFilter'],
  rpc: ['@nestjs/microservices', 'RpcException', 'BaseRpcExceptionFilter'],
};

const loaded = new Map<Transport, TransportExceptionClass>();
const filters = new Map<Transport, TransportFilterClass>();
const loading = new Map<Transport, Promise<void>>();

/**
 * Loads the transport's exception class: at once where `require` exists,
 * else in the background (the promise settles when it is available).
 */
export function loadTransportException(transport: Transport): Promise<void> {
  if (loaded.has(transport)) return Promise.resolve();
  let pending = loading.get(transport);
  if (pending !== undefined) return pending;
  const [specifier] = SOURCES[transport];
  if (typeof require === 'function') {
    try {
      remember(transport, require(specifier) as Record<string, unknown>);
    } catch {
      // reported by transportException() when it is needed
    }
    return Promise.resolve();
  }
  pending = (import(specifier) as Promise<Record<string, unknown>>).then(
    (namespace) => remember(transport, namespace),
    () => undefined, // reported by transportException() when it is needed
  );
  loading.set(transport, pending);
  return pending;
}

/** The transport's exception class, or a clear error when it could not be loaded (yet). */
export function transportException(transport: Transport): TransportExceptionClass {
  const type = loaded.get(transport);
  if (type !== undefined) return type;
  void loadTransportException(transport);
  const again = loaded.get(transport);
  if (again !== undefined) return again;
  const [specifier, exportName] = SOURCES[transport];
  throw new Error(
    `restflow-throttle: ${exportName} from '${specifier}' is not loaded, so a throttled ${transport} handler cannot answer in Nest's form. ` +
      `Is '${specifier}' installed? Under native ESM it is loaded when the application starts: was the handler declared after app.init()?`,
  );
}

/**
 * Nest's base filter of the transport, which answers a `WsException` or an
 * `RpcException` as Nest does when no filter of the app catches it. Loaded
 * with the exception class, so available wherever that is.
 */
export function transportFilter(transport: Transport): TransportFilterClass {
  transportException(transport);
  const type = filters.get(transport);
  if (type !== undefined) return type;
  const [specifier, , filterName] = SOURCES[transport];
  throw new Error(`restflow-throttle: ${filterName} is missing from '${specifier}'.`);
}

function remember(transport: Transport, namespace: Record<string, unknown>): void {
  const [, exportName, filterName] = SOURCES[transport];
  const pick = (name: string): unknown =>
    namespace[name] ?? (namespace.default as Record<string, unknown> | undefined)?.[name];
  const type = pick(exportName);
  if (typeof type === 'function') loaded.set(transport, type as TransportExceptionClass);
  const filter = pick(filterName);
  if (typeof filter === 'function') filters.set(transport, filter as TransportFilterClass);
}
