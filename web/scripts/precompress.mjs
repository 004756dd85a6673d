// Writes <file>.gz (gzip, level 9) beside every text asset of the build, so that chatd can
// send the compressed file as is to a client that accepts gzip. Formats that are already
// compressed (woff2, images) are left alone. Usage: node scripts/precompress.mjs DIR
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { constants, gzipSync } from 'node:zlib';

const compressible = new Set(['.js', '.mjs', '.css', '.html', '.svg', '.json', '.txt', '.map', '.ttf', '.otf', '.woff', '.eot', '.ico', '.xml', '.webmanifest']);

async function* files(dir) {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else if (entry.isFile()) yield path;
  }
}

function extension(name) {
  const dot = name.lastIndexOf('.');
  return dot < 0 ? '' : name.slice(dot).toLowerCase();
}

const root = process.argv[2];
if (!root) {
  console.error('usage: node scripts/precompress.mjs DIR');
  process.exit(2);
}
if (!(await stat(root)).isDirectory()) {
  console.error(`precompress: ${root} is not a directory`);
  process.exit(2);
}

let count = 0;
let before = 0;
let after = 0;
for await (const path of files(root)) {
  if (path.endsWith('.gz') || !compressible.has(extension(path))) continue;
  const data = await readFile(path);
  const gz = gzipSync(data, { level: constants.Z_BEST_COMPRESSION });
  await writeFile(`${path}.gz`, gz);
  count += 1;
  before += data.length;
  after += gz.length;
  if (process.env.PRECOMPRESS_VERBOSE) console.log(`${relative(root, path)}: ${data.length} -> ${gz.length}`);
}
console.log(`precompress: ${count} files, ${(before / 1024).toFixed(1)} kB -> ${(after / 1024).toFixed(1)} kB gzip`);
