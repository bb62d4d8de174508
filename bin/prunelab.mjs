#!/usr/bin/env node
// Runs the TypeScript CLI (src/cli/main.ts) through tsx, so `npx prunelab` needs no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
