// The device: serves the workload's queues, spinning briefly when idle and then parking. When the
// policy gives it an IOMMU table to walk it translates through its own IOTLB; with the protection
// oracle on it also probes recently unmapped DMA addresses between DMAs.
import { encodeHistogram, newHistogram } from '../core/latency.js';
import { Prober } from '../core/protection.js';
import { DmaEngine } from '../mem/dma.js';
import { Iotlb } from '../mem/iotlb.js';
import { policyByName } from '../policies/index.js';
import { workloadByName } from '../workloads/index.js';
import { RoleBase, type RoleResult } from './role.js';

export class DeviceRole extends RoleBase {
  run(t0: number): RoleResult {
    this.begin(t0);
    const { mem, m, cfg, stats } = this;
    const policy = policyByName(cfg.policy);
    const t = policy.deviceIotlb?.(m, cfg);
    const faults = policy.device?.({ mem, m, cfg, stats, timeoutMs: cfg.watchdogMs });
    const iotlb = t ? new Iotlb(mem, m, t.entries, t.ways, stats, (a) => mem.load(t.table, a) - 1) : undefined;
    const windows = newHistogram();
    // probes translate as the device's DMAs do
    const probeEngine = new DmaEngine(mem, m, stats, this.oracle, iotlb);
    const prober = cfg.protection.probe === 'unmapped' ? new Prober(m, t0, (dma: number) => probeEngine.probe(dma), stats, windows) : undefined;
    const device = workloadByName(cfg.workload).device({ mem, m, cfg, stats, oracle: this.oracle, iotlb, prober, faults });
    const spinMs = cfg.notifyPath.spinUs / 1000;
    let lastWork = performance.now();
    while (this.serving()) {
      if (device.poll() > 0) lastWork = performance.now();
      else if (performance.now() - lastWork > spinMs) {
        device.park(20);
        lastWork = performance.now();
      }
      this.tick();
    }
    prober?.close();
    return this.result({ histograms: { protectionWindow: encodeHistogram(windows), ...faults?.histograms?.() } });
  }
}
