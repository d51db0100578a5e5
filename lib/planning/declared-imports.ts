/**
 * Which modules of an application import a module in their own metadata (their class's `@Module({ imports })`
 * or the dynamic module they were built from), as opposed to holding it only because it is global: Nest puts
 * every global module in each module's `imports`.
 */
import { MODULE_METADATA } from '@nestjs/common/constants';
import type { ModuleRef } from '@nestjs/core';
import type { Module } from '@nestjs/core/injector/module';

/** Reads the dynamic-module metadata Nest's container keeps by module token. */
interface DynamicMetadata {
  getDynamicMetadataByToken?(token: string, key: string): unknown;
}

/**
 * The names of the modules, other than `targets`, whose own metadata imports one of `targets` (as a class, a
 * dynamic module such as `forRoot()` or `forRootAsync()`, either of them behind `forwardRef()` or a promise).
 */
export async function modulesImporting(
  modules: Iterable<Module>,
  targets: readonly Module[],
  moduleRef: ModuleRef,
): Promise<string[]> {
  const container = (moduleRef as unknown as { container?: DynamicMetadata }).container;
  const targetTypes = new Set<unknown>(targets.map((m) => m.metatype));
  const importers: string[] = [];
  for (const module of modules) {
    if (module.metatype === undefined || targets.includes(module)) continue;
    for (const entry of declaredImports(module, container)) {
      if (targetTypes.has(await importedModuleType(entry))) {
        importers.push(module.metatype.name);
        break;
      }
    }
  }
  return importers;
}

/** What a module's own metadata imports, as Nest's scanner reads it: its class's, then its dynamic module's. */
function declaredImports(module: Module, container: DynamicMetadata | undefined): unknown[] {
  const own: unknown = Reflect.getMetadata(MODULE_METADATA.IMPORTS, module.metatype);
  const dynamic = container?.getDynamicMetadataByToken?.(module.token, MODULE_METADATA.IMPORTS);
  return [...(Array.isArray(own) ? own : []), ...(Array.isArray(dynamic) ? dynamic : [])];
}

/** The module class an `imports` entry names: a class or a dynamic module (`{ module }`). */
async function importedModuleType(entry: unknown): Promise<unknown> {
  try {
    let resolved = entry;
    if (typeof (resolved as { forwardRef?: unknown } | null)?.forwardRef === 'function') {
      resolved = (resolved as { forwardRef: () => unknown }).forwardRef();
    }
    resolved = await resolved;
    return typeof resolved === 'function' ? resolved : (resolved as { module?: unknown } | null)?.module;
  } catch {
    return undefined;
  }
}
