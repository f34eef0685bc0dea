// The workload registry: one line per workload.
import { Registry } from '../core/registry.js';
import { netWorkload } from './net/index.js';
import { storageWorkload } from './storage/index.js';
import { traceWorkload } from './trace/index.js';
import type { Workload } from './workload.js';

const workloads = new Registry<Workload>('workload');

/** Add a workload; `fromModule` (`import.meta.url`) is imported by every role worker, as for policies. */
export const registerWorkload = (w: Workload, fromModule?: string): void => workloads.register(w, fromModule);

registerWorkload(netWorkload);
registerWorkload(storageWorkload);
registerWorkload(traceWorkload);

export const allWorkloads = (): Workload[] => workloads.all();
export const workloadNames = (): string[] => workloads.names();
export const workloadByName = (name: string): Workload => workloads.byName(name);
export const workloadModules = (): string[] => workloads.pluginModules();
