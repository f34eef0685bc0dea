// A registry of named plug-ins (policies, workloads). Built-ins register at import; a module
// outside src/ registers its own with its URL, and every role worker imports that module too.
export class UnknownNameError extends Error {}

export class Registry<T extends { name: string }> {
  private readonly items = new Map<string, T>();
  private readonly modules = new Set<string>();

  /** `what` names the kind in messages (`policy`, `workload`). */
  constructor(private readonly what: string) {}

  /** Add `item`; `fromModule` (`import.meta.url` of the caller) is imported by every role worker. */
  register(item: T, fromModule?: string): void {
    if (this.items.has(item.name)) throw new Error(`${this.what} "${item.name}" is registered already`);
    this.items.set(item.name, item);
    if (fromModule) this.modules.add(fromModule);
  }

  all(): T[] {
    return [...this.items.values()];
  }

  names(): string[] {
    return [...this.items.keys()];
  }

  byName(name: string): T {
    const item = this.items.get(name);
    if (!item) throw new UnknownNameError(`unknown ${this.what} "${name}": allowed values are ${this.names().join(', ')}`);
    return item;
  }

  /** Modules a role worker must import to know every registered item. */
  pluginModules(): string[] {
    return [...this.modules];
  }
}
