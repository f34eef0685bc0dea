// Worker entry when running from TypeScript sources (vitest, tsx): register tsx in this thread,
// then load the real .ts entry named in workerData. Built workers in dist/ do not come here.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const mod = await import(workerData.bootstrapTarget);
export default mod.default;
