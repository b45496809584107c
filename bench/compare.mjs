// Prints the side-by-side table of bench/run-socketio.sh from the JSON summaries it wrote
// (files named <server>-<clients>.json). Usage: node bench/compare.mjs results/*.json
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

const runs = process.argv.slice(2).map((file) => {
  const name = basename(file, '.json');
  const cut = name.lastIndexOf('-');
  return { server: name.slice(0, cut), clients: Number(name.slice(cut + 1)), s: JSON.parse(readFileSync(file, 'utf8')) };
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

// Columns: node first, then each Go variant with its ratio to node (the goals are stated as
// go/node: CPU ≤ 0.33, RSS ≤ 0.7).
const order = (name) => (name === 'node' ? '' : name);
const servers = [...new Set(runs.map((r) => r.server))].sort((a, b) => order(a).localeCompare(order(b)));
const others = servers.filter((s) => s !== 'node');
const fmt = (v) => (v === undefined || v === null ? '-' : Number.isInteger(v) ? String(v) : v.toFixed(2));
const pad = (v, n) => String(v).padStart(n);
const byClients = [...new Set(runs.map((r) => r.clients))].sort((a, b) => a - b);
const header = ['clients'.padEnd(8), 'metric'.padEnd(20), ...servers.map((s) => pad(s, 10))];
for (const s of others) header.push(pad(`${s}/node`, 14));
console.log(header.join(' '));
for (const clients of byClients) {
  const run = (server) => runs.find((r) => r.clients === clients && r.server === server);
  for (const [name, get] of metrics) {
    const vals = servers.map((s) => (run(s) ? get(run(s).s) : undefined));
    const node = run('node') ? get(run('node').s) : undefined;
    const row = [String(clients).padEnd(8), name.padEnd(20), ...vals.map((v) => pad(fmt(v), 10))];
    for (const s of others) {
      const v = run(s) ? get(run(s).s) : undefined;
      row.push(pad(node && v !== undefined ? (v / node).toFixed(2) : '-', 14));
    }
    console.log(row.join(' '));
  }
}
for (const r of runs) {
  for (const e of r.s.errors ?? []) {
    console.log(`${r.server} ${r.clients}: ${e.count} ${e.kind} errors, e.g. ${e.samples.join(' | ')}`);
  }
}
