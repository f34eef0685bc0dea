// A random fault plan drawn from a seed (the soak): a few survivable kinds, each with a target,
// a parameter and a WHEN in ranges the protocols must survive. Kinds that cannot fire in the
// scenario (no such path, no such role) are left out by the same check `--fault` gets.
import { SURVIVABLE_FAULTS, type FaultKind } from '../core/faults/kinds.js';
import { parseFault } from '../core/faults/plan.js';
import { seededRandom } from '../core/random.js';
import { faultProblem } from './fault-check.js';
import { runsSidecore } from '../policies/index.js';
import type { ScenarioConfig } from './scenario.js';

/** How many kinds a plan picks (of those that apply). */
const KINDS_PER_PLAN = 4;

type Rnd = () => number;
const int = (r: Rnd, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function roles(cfg: ScenarioConfig): string[] {
  const vcpus = Array.from({ length: cfg.vcpus }, (_, v) => `vcpu${v}`);
  return [...vcpus, 'device', 'hypervisor', ...(runsSidecore(cfg) ? ['sidecore'] : [])];
}

/** One spec of `kind` in its survivable ranges. */
function draw(kind: FaultKind, r: Rnd, cfg: ScenarioConfig): string {
  const prob = () => `p=${(int(r, 5, 50) / 1000).toFixed(3)}`;
  switch (kind) {
    case 'pin-fail':
    case 'host-oom':
    case 'slot-busy':
    case 'queue-error':
      return `${kind}@${prob()}`;
    case 'slow-host':
      return `slow-host:exp(${int(r, 50, 500)}us)@p=0.0${int(r, 1, 5)}`;
    case 'preempt':
      return `preempt:${pick(r, roles(cfg).filter((x) => x !== 'hypervisor' || cfg.notify === 'trap'))}:${int(r, 5, 40)}ms@every ${int(r, 300, 2000)}ms`;
    case 'spurious-wake':
      return `spurious-wake:${pick(r, roles(cfg))}@every ${int(r, 2, 30)}ms`;
    case 'ring-full':
      return `ring-full:${int(r, 5, 40)}ms@every ${int(r, 300, 2000)}ms`;
    case 'balloon':
      return `balloon:${int(r, 16, 256)}@every ${int(r, 200, 2000)}ms`;
    case 'rogue-dma':
      return `rogue-dma@every ${int(r, 1, 20)}ms`;
    default:
      throw new RangeError(`${kind} is not survivable`);
  }
}

/** A plan for `cfg` from `seed`: up to KINDS_PER_PLAN kinds that apply, each drawn once. */
export function randomFaultPlan(cfg: ScenarioConfig, seed: number): string[] {
  const r = seededRandom(seed);
  const kinds = SURVIVABLE_FAULTS.filter((k) => faultProblem(parseFault(draw(k, seededRandom(seed), cfg)), cfg) === undefined);
  const plan: string[] = [];
  while (plan.length < KINDS_PER_PLAN && kinds.length > 0) {
    const kind = kinds.splice(Math.floor(r() * kinds.length), 1)[0];
    const spec = draw(kind, r, cfg);
    if (faultProblem(parseFault(spec), cfg) === undefined) plan.push(spec);
  }
  return plan;
}
