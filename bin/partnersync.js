#!/usr/bin/env node
import { main } from '../dist/main.js';

main().then((code) => {
  process.exitCode = code;
  // Let output flush and handles close on their own; if an SDK leaves a socket open, do not hang cron.
  setTimeout(() => process.exit(code), 2000).unref();
});
