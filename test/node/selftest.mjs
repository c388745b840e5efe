// selftest.mjs: the smallest script nodetest can run, to prove the harness.
// It prints one JSON line with its arguments and the versions in use; with
// --fail it writes to stderr and exits 3 instead, with --not-json it prints
// plain text.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.includes('--fail')) {
  process.stderr.write('selftest: failing on purpose\n');
  process.exit(3);
}
if (args.includes('--not-json')) {
  process.stdout.write('plain text\n');
  process.exit(0);
}
const ws = JSON.parse(readFileSync(new URL('./node_modules/ws/package.json', import.meta.url)));
process.stdout.write(JSON.stringify({ ok: true, args, node: process.version, ws: ws.version }) + '\n');
