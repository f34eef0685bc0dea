// The workload registry: one line per workload.
import { netWorkload } from './net/index.js';
import type { Workload } from './workload.js';

const registry = new Map<string, Workload>();
/** Modules that registered workloads from outside src/ (the role workers import them too). */
const pluginModules = new Set<string>();

/** Add a workload; `fromModule` (`import.meta.url`) is imported by every role worker, as for policies. */
export function registerWorkload(w: Workload, fromModule?: string): void {
  if (registry.has(w.name)) throw new Error(`workload "${w.name}" is registered already`);
  registry.set(w.name, w);
  if (fromModule) pluginModules.add(fromModule);
}

export const workloadModules = (): string[] => [...pluginModules];

registerWorkload(netWorkload);

export const allWorkloads = (): Workload[] => [...registry.values()];
export const workloadNames = (): string[] => [...registry.keys()];

export function workloadByName(name: string): Workload {
  const w = registry.get(name);
  if (!w) throw new Error(`unknown workload "${name}": allowed values are ${workloadNames().join(', ')}`);
  return w;
}
