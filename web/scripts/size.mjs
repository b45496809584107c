// Prints what a browser downloads on a first visit, raw and gzipped (level 9, as the server sends it).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const dist = fileURLToPath(new URL('../../internal/web/dist', import.meta.url));
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else files.push(p);
  }
};
walk(dist);
let raw = 0;
let gz = 0;
for (const f of files.sort()) {
  const body = readFileSync(f);
  const z = gzipSync(body, { level: 9 }).length;
  raw += body.length;
  gz += z;
  console.log(`${relative(dist, f).padEnd(32)} ${String(body.length).padStart(8)} B  gzip ${String(z).padStart(7)} B`);
}
console.log(`${'total'.padEnd(32)} ${String(raw).padStart(8)} B  gzip ${String(gz).padStart(7)} B`);
