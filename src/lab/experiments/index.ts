// The experiments: one entry per recipe. Recipes whose policy or workload has not landed are listed
// in PENDING with the issue that brings it; each becomes one entry here when it does.
import { ConfigError } from '../../core/errors.js';
import type { Experiment } from './experiment.js';
import { footprint } from './footprint.js';
import { invqScaling } from './invq-scaling.js';
import { lineRate } from './line-rate.js';
import { locality } from './locality.js';
import { overcommit } from './overcommit.js';
import { sidecoreVsTrap } from './sidecore-vs-trap.js';
import { vmCreation } from './vm-creation.js';

export type { Experiment } from './experiment.js';

const EXPERIMENTS: Experiment[] = [lineRate, sidecoreVsTrap, footprint, vmCreation, invqScaling, overcommit, locality];

/** Recipes that wait for a policy or workload: name -> what they need. */
export const PENDING: Record<string, string> = {
  fands: 'F&S --invalidation linux|fands and --flows (issue 11): memory reads per page and modeled throughput vs flows',
};

export const experimentNames = (): string[] => EXPERIMENTS.map((e) => e.name);
export const allExperiments = (): readonly Experiment[] => EXPERIMENTS;

export function experimentByName(name: string): Experiment {
  const e = EXPERIMENTS.find((x) => x.name === name);
  if (e) return e;
  const pending = PENDING[name];
  throw new ConfigError('experiment', name, pending ? `is not available yet: it needs ${pending}` : `must be one of ${experimentNames().join(', ')}`);
}
