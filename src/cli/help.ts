// The guide under run --help and compare --help, made from the registries: a new policy or
// workload teaches itself here.
import { ROLES } from '../core/types.js';
import { DURATION_SYNTAX } from '../core/units.js';
import { allPolicies } from '../policies/index.js';
import { allWorkloads } from '../workloads/index.js';
import { NAME } from './context.js';

const indent = (name: string, text: string, width = 19) =>
  text
    .split('\n')
    .map((line, i) => `  ${(i === 0 ? name : '').padEnd(width)}${line}`)
    .join('\n');

export function guide(): string {
  return `
Policies:
${allPolicies().map((p) => indent(p.name, p.help)).join('\n')}

Workloads:
${allWorkloads().map((w) => indent(w.name, w.help)).join('\n')}

Notify paths (how a pin request or an invalidation reaches the host):
  trap      the vCPU exits (a VM exit: the doorbell or the invalidation queue's
            tail register) and blocks until the hypervisor thread is done
  sidecore  the vCPU writes shared memory and spins; a polling sidecore thread
            serves it, with no exit

Protection (--probe unmapped, the default): the device also probes addresses
whose unmap has returned. viommu-strict must fault on every one (leaks = 0);
the other policies let some through: the report counts them and the window.

Units:
  sizes      4096, 4k, 4KiB, 512MiB, 1G, 128GiB (binary units; B optional)
  durations  ${DURATION_SYNTAX.replace(/^a duration like /, '')}
  faults     <role>@<time>, role one of ${ROLES.join(', ')} (--inject-*);
             --fault KIND[:TARGET][:PARAM]@WHEN: ${NAME} faults list
  --config   a JSON file with any part of the scenario, e.g.
             {"net": {"queueDepth": 128}, "coiommu": {"unpinIntervalMs": 20}};
             flags override it
`;
}

export const RUN_EXAMPLES = `
Examples:
  ${NAME} run --policy coiommu --notify trap --duration 5s --guest-mem 4GiB
  ${NAME} run --policy viommu-strict --notify sidecore --iotlb-entries 128 --iotlb-ways 8
  ${NAME} run --policy viommu-optimistic --optimistic-timeout 5ms --reuse-distance 64 --json
  ${NAME} run --exit-delay 5us --cost exitCycles=1500 --json > report.json
  ${NAME} run --inject-crash device@300ms --watchdog 500ms
  ${NAME} run --fault pin-fail@p=0.01 --fault 'preempt:sidecore:20ms@every 500ms' --fault hang:vcpu0@2s
`;

export const COMPARE_EXAMPLES = `
Examples:
  ${NAME} compare --duration 2s --reuse-distance 4096
  ${NAME} compare --policies coiommu/trap,coiommu/sidecore --exit-delay 5us
  ${NAME} compare --policies viommu-strict/trap,viommu-lazy/trap,viommu-strict/sidecore
  ${NAME} compare --config scenario.json --json > reports.json
`;
