// Worker entry: a piscina task (one sweep point: a whole run).
import { runPointTask } from '../src/lab/sweep/point-task.js';

export default runPointTask;
