// What a trace's events add up to as they stream by: which buffers are mapped, and the anomalies
// a real trace has (an unmap whose map is not in it, a second map of a live address, a step back
// in time, events the kernel lost). Each is counted, never dropped silently.
import { dmaKey, mapPages, physKey, type TraceEvent } from './event.js';

export interface LiveBuffer {
  key: string;
  /** Its sg map's key by first physical address, if it has one. */
  altKey?: string;
  /** Physical pages (page frame numbers), in order. */
  pages: number[];
  time: number;
  cpu: number;
  /** A number the user of the ledger may set (the replay: its request). */
  tag: number;
}

export interface TraceAnomalies {
  unmapWithoutMap: number;
  doubleMap: number;
  outOfOrder: number;
  lostEvents: number;
  truncatedSg: number;
  badLines: number;
}

export const noAnomalies = (): TraceAnomalies => ({ unmapWithoutMap: 0, doubleMap: 0, outOfOrder: 0, lostEvents: 0, truncatedSg: 0, badLines: 0 });

export class TraceLedger {
  readonly live = new Map<string, LiveBuffer>();
  private readonly byPhys = new Map<string, string>();
  readonly anomalies = noAnomalies();
  maps = 0;
  unmaps = 0;
  private lastTime = -Infinity;

  /** The time to use for e: never before the last one (a step back is counted). */
  time(e: TraceEvent): number {
    if (e.time < this.lastTime) {
      this.anomalies.outOfOrder++;
      return this.lastTime;
    }
    return (this.lastTime = e.time);
  }

  /** A map: the buffer now live; a live buffer at the same address is returned (a double map). */
  map(e: TraceEvent, time: number): { added: LiveBuffer; replaced?: LiveBuffer } {
    this.maps++;
    if (e.truncated) this.anomalies.truncatedSg++;
    const key = dmaKey(e.device, e.dma[0]);
    const replaced = this.live.get(key);
    if (replaced) {
      this.anomalies.doubleMap++;
      this.forget(replaced);
    }
    const altKey = e.name === 'dma_map_sg' ? physKey(e.device, e.phys[0]) : undefined;
    const added: LiveBuffer = { key, altKey, pages: mapPages(e, []), time, cpu: e.cpu, tag: -1 };
    this.live.set(key, added);
    if (altKey) this.byPhys.set(altKey, key);
    return { added, replaced };
  }

  /** The live buffer an unmap ends (without ending it), or undefined. */
  find(e: TraceEvent): LiveBuffer | undefined {
    const key = e.dma.length > 0 ? dmaKey(e.device, e.dma[0]) : this.byPhys.get(physKey(e.device, e.phys[0]));
    return key === undefined ? undefined : this.live.get(key);
  }

  /** The live buffer a map would replace (a double map), or undefined. */
  findMapped(e: TraceEvent): LiveBuffer | undefined {
    return this.live.get(dmaKey(e.device, e.dma[0]));
  }

  /** The physical pages a map event touches, into `out`. */
  pagesOf(e: TraceEvent, out: number[]): number[] {
    return mapPages(e, out);
  }

  /** An unmap: the buffer it ends, or undefined (an unmap without its map, counted). */
  unmap(e: TraceEvent): LiveBuffer | undefined {
    const b = this.find(e);
    if (!b) {
      this.anomalies.unmapWithoutMap++;
      return undefined;
    }
    this.unmaps++;
    this.forget(b);
    return b;
  }

  private forget(b: LiveBuffer): void {
    this.live.delete(b.key);
    if (b.altKey) this.byPhys.delete(b.altKey);
  }
}
