#!/usr/bin/env node
// Thin launcher: the CLI lives in the compiled TypeScript under dist/.
import { main } from '../dist/src/cli.js';

main(process.argv).catch((err) => {
  console.error(err);
  process.exit(1);
});
