// The policy registry: one line per design. Everything else asks the registry, never a name.
import { Registry } from '../core/registry.js';
import { coiommuPolicy } from './coiommu/index.js';
import { iopfPolicy } from './iopf/index.js';
import { passthroughPolicy } from './passthrough/index.js';
import type { Policy } from './policy.js';
import { staticPolicy } from './static/index.js';
import { viommuPolicies } from './viommu/index.js';

const policies = new Registry<Policy>('policy');

/**
 * Add a policy (the built-ins below; a test or an experiment may add its own). `fromModule` is the
 * URL of the module that makes this call (`import.meta.url`): every role worker imports it before
 * it starts, so the policy exists in every thread of the run.
 */
export const registerPolicy = (p: Policy, fromModule?: string): void => policies.register(p, fromModule);

registerPolicy(staticPolicy);
registerPolicy(coiommuPolicy);
registerPolicy(passthroughPolicy);
for (const p of viommuPolicies) registerPolicy(p);
registerPolicy(iopfPolicy);

/** Every registered policy, in registration order. */
export const allPolicies = (): Policy[] => policies.all();
export const policyNames = (): string[] => policies.names();
export const policyByName = (name: string): Policy => policies.byName(name);
/** The modules a role worker must import to know every registered policy. */
export const policyModules = (): string[] => policies.pluginModules();

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
