// The device: serves the descriptor rings, spinning briefly when idle and then parking. With a
// vIOMMU (or passthrough) it translates through its own IOTLB; with the protection oracle on it
// also probes recently unmapped DMA addresses between DMAs.
import { Iotlb } from '../mem/iotlb.js';
import { encodeHistogram, newHistogram } from '../run/latency.js';
import { Prober } from '../run/protection.js';
import { isViommu, usesIotlb } from '../run/types.js';
import { NetDevice } from '../workload/net-device.js';
import { RoleBase, type RoleResult } from './role.js';

export class DeviceRole extends RoleBase {
  run(t0: number): RoleResult {
    this.begin(t0);
    const { mem, m, cfg, stats } = this;
    let iotlb: Iotlb | undefined;
    if (usesIotlb(cfg.policy)) {
      // vIOMMU: the physical IOMMU walks the host's shadow table (IOVA -> frame); passthrough:
      // the host IOMMU table itself (guest physical -> frame).
      const table = isViommu(cfg.policy) ? m.shadow : m.iommu;
      iotlb = new Iotlb(mem, m, cfg.viommu.iotlbEntries, cfg.viommu.iotlbWays, stats, (a) => mem.load(table, a) - 1);
    }
    const windows = newHistogram();
    let device: NetDevice | undefined = undefined;
    const prober =
      cfg.protection.probe === 'unmapped' ? new Prober(m, t0, (dma: number) => device!.dma.probe(dma), stats, windows) : undefined;
    device = new NetDevice(mem, m, stats, this.oracle, iotlb, prober);
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
    return this.result({ histograms: { protectionWindow: encodeHistogram(windows) } });
  }
}
