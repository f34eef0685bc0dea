// Worker entry: the hypervisor role.
import { serveRole } from '../src/roles/role-server.js';
import { HypervisorRole } from '../src/roles/hypervisor-role.js';

serveRole((init) => new HypervisorRole(init));
