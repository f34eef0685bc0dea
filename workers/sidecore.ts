// Worker entry: the sidecore role.
import { serveRole } from '../src/roles/role-server.js';
import { SidecoreRole } from '../src/roles/sidecore-role.js';

serveRole((init) => new SidecoreRole(init));
