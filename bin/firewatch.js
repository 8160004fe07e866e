#!/usr/bin/env node
// The package's `bin`. npm puts node_modules/.bin first on PATH, so `npx firewatch` runs on the pinned Node 24.
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`firewatch needs Node.js 24 or newer (this is ${process.version}); run it through npx or npm run.`);
  process.exit(1);
}
await import('../src/cli.ts');
