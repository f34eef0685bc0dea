// Worker entry: the device role.
import { serveRole } from '../src/roles/role-server.js';
import { DeviceRole } from '../src/roles/device-role.js';

serveRole((init) => new DeviceRole(init));
