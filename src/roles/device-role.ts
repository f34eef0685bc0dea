// The device: serves the workload's queues, spinning briefly when idle and then parking. When the
// policy gives it an IOMMU table to walk it translates through its own IOTLB; with the protection
// oracle on it also probes recently unmapped DMA addresses between DMAs.
import { encodeHistogram, newHistogram } from '../core/latency.js';
import { Prober } from '../core/protection.js';
import { DmaEngine } from '../mem/dma.js';
import { Iotlb } from '../mem/iotlb.js';
import { deviceWalk } from '../mem/device-walk.js';
import { policyByName } from '../policies/index.js';
import { workloadByName } from '../workloads/index.js';
import { RoleBase, type RoleResult } from './role.js';
import { seededRandom } from '../core/random.js';
import { RogueDma, spuriousWake } from './fault-actions.js';

export class DeviceRole extends RoleBase {
  run(t0: number): RoleResult {
    this.begin(t0);
    const { mem, m, cfg, stats } = this;
    const policy = policyByName(cfg.policy);
    const t = policy.deviceIotlb?.(m, cfg);
    const faults = policy.device?.({ mem, m, cfg, stats, timeoutMs: cfg.watchdogMs });
    const iotlb = t ? new Iotlb(mem, m, t.entries, t.ways, stats, deviceWalk(mem, m, t, stats)) : undefined;
    const windows = newHistogram();
    // probes translate as the device's DMAs do
    const probeEngine = new DmaEngine(mem, m, stats, this.oracle, iotlb);
    const prober = cfg.protection.probe === 'unmapped' ? new Prober(m, t0, (dma: number) => probeEngine.probe(dma), stats, windows) : undefined;
    const device = workloadByName(cfg.workload).device({ mem, m, cfg, stats, oracle: this.oracle, iotlb, prober, faults });
    this.armFaults(probeEngine);
    const spinMs = cfg.notifyPath.spinUs / 1000;
    let lastWork = performance.now();
    while (this.serving()) {
      if (this.faults?.holding()) this.faults.holdSlice(); // ring-full: completions back up
      else if (device.poll() > 0) lastWork = performance.now();
      else if (performance.now() - lastWork > spinMs) {
        device.park(20);
        lastWork = performance.now();
      }
      this.tick();
    }
    prober?.close();
    return this.result({ histograms: { protectionWindow: encodeHistogram(windows), ...faults?.histograms?.() } });
  }

  /** The faults the device carries out: rogue DMAs, spurious wake-ups of the hypervisor. */
  private armFaults(engine: DmaEngine): void {
    const f = this.faults;
    if (!f) return;
    const rnd = seededRandom(this.cfg.seed ^ 0x5eed);
    const identity = policyByName(this.cfg.policy).identityDma;
    const rogue = new RogueDma(this.m, engine, identity, this.oracle, f.board, rnd);
    f.on('rogue-dma', () => rogue.fire());
    f.on('spurious-wake', (s) => spuriousWake(this.m, s, f.board));
  }
}
