// Small scenarios for end-to-end tests: a 16 MiB guest and short runs, so a test costs ~1 s.
import { defaultScenario, type ScenarioConfig } from '../../src/lab/config.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export function smallScenario(over: DeepPartial<ScenarioConfig> = {}): ScenarioConfig {
  const base = defaultScenario();
  return {
    ...base,
    guestPages: 4096,
    durationMs: 700,
    drainMs: 100,
    ...over,
    net: { ...base.net, reuseDistance: 64, queueDepth: 32, rotateMs: 150, ...over.net },
    coiommu: { ...base.coiommu, unpinIntervalMs: 20, ...over.coiommu },
    host: { ...base.host, ...over.host },
    notifyPath: { ...base.notifyPath, ...over.notifyPath },
    costTable: { ...base.costTable, ...over.costTable },
    viommu: { ...base.viommu, ...over.viommu },
    protection: { ...base.protection, ...over.protection },
    faults: { ...over.faults } as ScenarioConfig['faults'],
  } as ScenarioConfig;
}
