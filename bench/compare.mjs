// Prints the side-by-side table of bench/run-socketio.sh from the JSON summaries it wrote
// (files named <server>-<clients>.json). Usage: node bench/compare.mjs results/*.json
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const runs = process.argv.slice(2).map((file) => {
  const [server, clients] = basename(file, '.json').split('-');
  return { server, clients: Number(clients), s: JSON.parse(readFileSync(file, 'utf8')) };
});

const metrics = [
  ['RSS KB / idle conn', (s) => s.server.rss_kb_per_connection],
  ['CPU µs / delivery', (s) => s.server.cpu_us_per_delivery],
  ['p50 latency ms', (s) => s.delivery_latency.p50_ms],
  ['p99 latency ms', (s) => s.delivery_latency.p99_ms],
  ['connected', (s) => s.connected],
  ['deliveries lost', (s) => s.deliveries_lost],
  ['deliveries/s', (s) => s.throughput_out_per_second],
];

const fmt = (v) => (v === undefined || v === null ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(2));
const pad = (v, n) => String(v).padStart(n);
const byClients = [...new Set(runs.map((r) => r.clients))].sort((a, b) => a - b);
console.log(
  ['clients', 'metric', 'node', 'go', 'node/go'].map((h, i) => (i < 2 ? h.padEnd(i ? 20 : 8) : pad(h, 10))).join(' '),
);
for (const clients of byClients) {
  const node = runs.find((r) => r.clients === clients && r.server === 'node');
  const go = runs.find((r) => r.clients === clients && r.server === 'go');
  for (const [name, get] of metrics) {
    const a = node ? get(node.s) : undefined;
    const b = go ? get(go.s) : undefined;
    const ratio = a !== undefined && b ? (a / b).toFixed(2) : '-';
    console.log([String(clients).padEnd(8), name.padEnd(20), pad(fmt(a), 10), pad(fmt(b), 10), pad(ratio, 10)].join(' '));
  }
}
for (const r of runs) {
  for (const e of r.s.errors ?? []) {
    console.log(`${r.server} ${r.clients}: ${e.count} ${e.kind} errors, e.g. ${e.samples.join(' | ')}`);
  }
}
