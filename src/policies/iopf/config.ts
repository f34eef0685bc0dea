// iopf's settings: what the device does with the descriptor that faulted.
import { section } from '../../core/settings.js';

export const FAULT_MODES = ['stall', 'drop'] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface IopfConfig {
  /** stall: the descriptor waits for the page-group response (storage-like); drop: it is dropped and re-posted by the guest (receive-side networking). */
  faultMode: FaultMode;
}

export const IOPF_SECTION = section<IopfConfig>('iopf', [
  {
    key: 'faultMode',
    flag: '--fault-mode',
    kind: 'text',
    values: () => FAULT_MODES,
    default: 'stall',
    help: 'iopf: on an I/O page fault the device stalls the descriptor until the host answers, or drops it (the guest re-posts it)',
  },
]);
