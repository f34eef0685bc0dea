// Worker entry: a piscina task (an explorer slice).
import { runSlice } from '../src/explore/pool-task.js';

export default runSlice;
