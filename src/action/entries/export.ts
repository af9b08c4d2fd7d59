// The export action's bundle entry: importing the action does nothing; this runs it.
import { run } from '../export.ts';

void run();
