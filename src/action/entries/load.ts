// The load action's bundle entry: importing the action does nothing; this runs it.
import { run } from '../load.ts';

void run();
