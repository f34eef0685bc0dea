// The fault plan as part of the scenario: the checks that need the rest of the
// scenario (a fault aimed at a role the run does not start, or at a path the policy does not have,
// would never fire; a stall as long as the watchdog would be taken for a hang).
import { ConfigError } from '../core/errors.js';
import { KIND_INFO } from '../core/faults/kinds.js';
import { FAULT_FIELD, parseFault, type FaultSpec } from '../core/faults/plan.js';
import { policyByName, runsSidecore } from '../policies/index.js';
import type { ScenarioConfig } from './scenario.js';

/** The host role that serves requests in this scenario (where pins and host delays happen). */
function servingHost(cfg: ScenarioConfig): string {
  if (cfg.notify === 'bare') return 'guest';
  return runsSidecore(cfg) ? 'sidecore' : 'hypervisor';
}

/** Why `s` cannot work in `cfg`, or undefined. */
export function faultProblem(s: FaultSpec, cfg: ScenarioConfig): string | undefined {
  const info = KIND_INFO[s.kind];
  const p = policyByName(cfg.policy);
  const needs: readonly string[] = info.needs ?? [];
  if (needs.length > 0 && !needs.includes(p.requests))
    return `${s.kind} needs a policy whose guest ${needs.includes('pin') ? `asks the host to pin (coiommu${needs.includes('invalidation') ? ', or a vIOMMU, whose host pins as it shadows a map' : ''})` : 'submits to an invalidation queue (the vIOMMU family)'}; ${cfg.policy} has no such path`;
  if (info.targets.includes('host') && needs.length > 0 && cfg.notify === 'bare') return `${cfg.policy}/bare has no host to fail (the native OS maps its own IOMMU)`;
  if (s.target === 'sidecore' && !runsSidecore(cfg)) return `${cfg.policy}/${cfg.notify} runs no sidecore thread, so this fault would never fire`;
  const host = servingHost(cfg);
  const hostKind = info.targets.includes('host');
  if (hostKind && p.requests === 'none') return `${cfg.policy} sends the host no requests, so ${s.kind} would never fire`;
  if (hostKind && s.target !== 'host' && s.target !== host) return `${cfg.policy}/${cfg.notify} serves requests on the ${host}, so ${s.kind}:${s.target} would never fire`;
  if (s.index >= cfg.vcpus) return `the run has ${cfg.vcpus} vCPU(s): vcpu0..vcpu${cfg.vcpus - 1}`;
  const endMs = cfg.durationMs + cfg.drainMs;
  if ('at' in s.when && s.when.at >= endMs) return `the fault must fire before the run ends (duration + drain = ${endMs} ms)`;
  const longest = s.delay ? ('uniform' in s.delay ? s.delay.uniform[1] : 'exp' in s.delay ? s.delay.exp * 5 : s.delay.fixed) : s.param;
  const stalls = s.kind === 'preempt' || s.kind === 'ring-full' || s.kind === 'slow-host';
  if (stalls && longest * 2 >= cfg.watchdogMs)
    return `a stall of ${longest} ms would be taken for a hang: keep it under half the watchdog (${cfg.watchdogMs / 2} ms; an exp mean under a tenth)`;
  return undefined;
}

/** Parse every --fault of the scenario and check it against the rest (ConfigError, exit 2). */
export function checkFaultPlan(cfg: ScenarioConfig, label: { source?: string }): void {
  for (const raw of cfg.faults.plan ?? []) {
    let spec: FaultSpec;
    try {
      spec = parseFault(raw);
    } catch (e) {
      if (e instanceof ConfigError && label.source) throw new ConfigError('faults.plan', raw, e.allowed, { source: label.source });
      throw e;
    }
    const why = faultProblem(spec, cfg);
    if (why) throw new ConfigError(label.source ? 'faults.plan' : FAULT_FIELD, raw, why, { source: label.source });
  }
}
