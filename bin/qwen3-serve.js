#!/usr/bin/env node
// Entry point of the `qwen3-serve` command: runs the compiled CLI. `npm install` builds dist/
// through the `prepare` script, so a fresh clone needs no manual step.
await import('../dist/src/cli.js');
