// The policy registry: one line per design. Everything else asks the registry, never a name.
import { coiommuPolicy } from './coiommu/index.js';
import { passthroughPolicy } from './passthrough/index.js';
import type { Policy } from './policy.js';
import { staticPolicy } from './static/index.js';
import { viommuPolicies } from './viommu/index.js';

const registry = new Map<string, Policy>();
/** Modules that registered policies from outside src/ (the role workers import them too). */
const pluginModules = new Set<string>();

/**
 * Add a policy (the built-ins below; a test or an experiment may add its own). `fromModule` is the
 * URL of the module that makes this call (`import.meta.url`): every role worker imports it before
 * it starts, so the policy exists in every thread of the run.
 */
export function registerPolicy(p: Policy, fromModule?: string): void {
  if (registry.has(p.name)) throw new Error(`policy "${p.name}" is registered already`);
  registry.set(p.name, p);
  if (fromModule) pluginModules.add(fromModule);
}

/** The modules a role worker must import to know every registered policy. */
export const policyModules = (): string[] => [...pluginModules];

registerPolicy(staticPolicy);
registerPolicy(coiommuPolicy);
registerPolicy(passthroughPolicy);
for (const p of viommuPolicies) registerPolicy(p);

export class UnknownPolicyError extends Error {}

/** Every registered policy, in registration order. */
export const allPolicies = (): Policy[] => [...registry.values()];
export const policyNames = (): string[] => [...registry.keys()];

export function policyByName(name: string): Policy {
  const p = registry.get(name);
  if (!p) throw new UnknownPolicyError(`unknown policy "${name}": allowed values are ${policyNames().join(', ')}`);
  return p;
}

/**
 * The default comparison (`compare`, `npm start`): every policy on each notify path it lists,
 * those that send the host nothing (the baselines) first.
 */
export const comparisonPairs = (): [string, Policy['notifyPaths'][number]][] =>
  [...allPolicies()]
    .sort((a, b) => Number(a.requests !== 'none') - Number(b.requests !== 'none'))
    .flatMap((p) => p.compareOn.map((n): [string, typeof n] => [p.name, n]));

/** Planted bugs of every policy (`none` = the real protocol). */
export const variantNames = (): string[] => ['none', ...allPolicies().flatMap((p) => Object.keys(p.variants ?? {}))];

/** Does this scenario run a sidecore thread? (a policy whose guest asks the host, on the sidecore path) */
export const runsSidecore = (cfg: { policy: string; notify: string }): boolean =>
  policyByName(cfg.policy).requests !== 'none' && cfg.notify === 'sidecore';
