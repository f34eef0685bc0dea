// Worker entry: one thread of an explorer scenario.
import { serveExploreThread } from '../src/explore/thread-worker.js';

serveExploreThread();
