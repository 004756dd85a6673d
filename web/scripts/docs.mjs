// Writes the API reference page (/docs) into DIST/docs/: our own files from docs/ (index.html,
// init.js, docs.css) and the few files of the npm package swagger-ui-dist that the page uses,
// with its licence and notice. chatd serves every file of DIST at its path under the strict
// CSP of the web UI, so the page must have no inline script or style: this is checked here.
// Run after vite build (which empties DIST) and before precompress.mjs (which gzips these
// too). Usage: node scripts/docs.mjs DIST
import { copyFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const own = join(web, 'docs');

const root = process.argv[2];
if (!root) {
  console.error('usage: node scripts/docs.mjs DIST');
  process.exit(2);
}
if (!(await stat(root)).isDirectory()) {
  console.error(`docs: ${root} is not a directory`);
  process.exit(2);
}

const require = createRequire(join(web, 'package.json'));
const swaggerPackage = require.resolve('swagger-ui-dist/package.json');
const swagger = dirname(swaggerPackage);
const { version } = JSON.parse(await readFile(swaggerPackage, 'utf8'));

// swagger-ui-dist's files the page needs, and their names under /docs/. The licence files
// get a .txt name so that chatd serves them as text. The source maps are left out; so is
// the standalone preset (its top bar loads any URL's document) and every other bundle.
const fromPackage = [
  ['swagger-ui-bundle.js', 'swagger-ui-bundle.js'],
  ['swagger-ui.css', 'swagger-ui.css'],
  ['LICENSE', 'LICENSE.txt'],
  ['NOTICE', 'NOTICE.txt'],
  // The licences of what the bundle contains; its first line points to this file.
  ['swagger-ui-bundle.js.LICENSE.txt', 'swagger-ui-bundle.js.LICENSE.txt'],
];

// The page must run under script-src 'self' and style-src 'self'.
function checkPage(html) {
  const problems = [];
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    if (!/\bsrc=/i.test(m[1]) || m[2].trim()) problems.push('an inline script');
  }
  if (/<style\b/i.test(html)) problems.push('a <style> element');
  if (/\sstyle\s*=/i.test(html)) problems.push('a style attribute');
  if (/\son[a-z]+\s*=/i.test(html)) problems.push('an event handler attribute');
  if (/javascript:/i.test(html)) problems.push('a javascript: URL');
  return problems;
}

const out = join(root, 'docs');
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });

let count = 0;
let bytes = 0;
for (const entry of await readdir(own, { withFileTypes: true })) {
  if (!entry.isFile()) continue;
  const data = await readFile(join(own, entry.name));
  if (entry.name.endsWith('.html')) {
    const problems = checkPage(data.toString('utf8'));
    if (problems.length) {
      console.error(`docs: docs/${entry.name} has ${problems.join(', ')}: the page's CSP would refuse it`);
      process.exit(1);
    }
  }
  await writeFile(join(out, entry.name), data);
  count += 1;
  bytes += data.length;
}

for (const [from, to] of fromPackage) {
  const source = join(swagger, from);
  if (/\.(js|css)$/.test(from)) {
    // Without the sourceMappingURL comment: the maps are not served (a browser's developer
    // tools would otherwise ask for them and get nothing).
    const text = (await readFile(source, 'utf8')).replace(/\s*\/[/*]# sourceMappingURL=[^\n]*\s*$/, '\n');
    if (/sourceMappingURL=/.test(text.slice(-300))) {
      console.error(`docs: could not drop the sourceMappingURL of ${from}`);
      process.exit(1);
    }
    await writeFile(join(out, to), text);
    bytes += Buffer.byteLength(text);
  } else {
    await copyFile(source, join(out, to));
    bytes += (await stat(source)).size;
  }
  count += 1;
}

console.log(`docs: swagger-ui-dist ${version}, ${count} files, ${(bytes / 1024).toFixed(1)} kB in ${out}`);
