// Which block a storage request touches next: uniform, sequential, or zipf (block k is the k-th
// most popular, with weight 1 / (k+1)^s), and where a block's pages lie in guest memory.
import { seededRandom } from '../../core/random.js';
import { zipfExponent } from './config.js';

export type BlockChooser = () => number;

export function blockChooser(locality: string, blocks: number, seed: number): BlockChooser {
  const rnd = seededRandom(seed);
  if (locality === 'sequential') {
    let next = -1;
    return () => (next = (next + 1) % blocks);
  }
  const s = zipfExponent(locality);
  if (s === undefined) return () => Math.floor(rnd() * blocks);
  const cdf = new Float64Array(blocks);
  let sum = 0;
  for (let k = 0; k < blocks; k++) cdf[k] = sum += 1 / (k + 1) ** s;
  return () => {
    const x = rnd() * sum;
    let lo = 0;
    let hi = blocks - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}

/**
 * A vCPU's page cache: `pages` file pages in extents of `extent` guest-contiguous pages, the
 * extents shuffled over [base, base + pages) as an allocator that has run a while leaves them.
 */
export class PageCache {
  private readonly extentAt: Int32Array;

  constructor(
    private readonly base: number,
    pages: number,
    private readonly extent: number,
    seed: number,
  ) {
    const n = Math.floor(pages / extent);
    this.extentAt = new Int32Array(n);
    for (let i = 0; i < n; i++) this.extentAt[i] = i;
    const rnd = seededRandom(seed);
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      const t = this.extentAt[i];
      this.extentAt[i] = this.extentAt[j];
      this.extentAt[j] = t;
    }
  }

  /** File pages it holds. */
  get pages(): number {
    return this.extentAt.length * this.extent;
  }

  /** The guest page of file page p. */
  gfn(p: number): number {
    return this.base + this.extentAt[Math.floor(p / this.extent)] * this.extent + (p % this.extent);
  }
}
