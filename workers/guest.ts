// Worker entry: the guest role.
import { serveRole } from '../src/roles/role-server.js';
import { GuestRole } from '../src/roles/guest-role.js';

serveRole((init) => new GuestRole(init));
