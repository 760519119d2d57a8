#!/usr/bin/env node
import { runMain } from './process-main.js';

// The thin entry point: the only place that reads process.argv.
await runMain(process.argv.slice(2));
