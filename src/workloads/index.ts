// The workload registry: one line per workload.
import { netWorkload } from './net/index.js';
import type { Workload } from './workload.js';

const registry = new Map<string, Workload>();

export function registerWorkload(w: Workload): void {
  if (registry.has(w.name)) throw new Error(`workload "${w.name}" is registered already`);
  registry.set(w.name, w);
}

registerWorkload(netWorkload);

export const allWorkloads = (): Workload[] => [...registry.values()];
export const workloadNames = (): string[] => [...registry.keys()];

export function workloadByName(name: string): Workload {
  const w = registry.get(name);
  if (!w) throw new Error(`unknown workload "${name}": allowed values are ${workloadNames().join(', ')}`);
  return w;
}
