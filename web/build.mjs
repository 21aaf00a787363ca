// Bundles the dashboard into <out>: index.html, assets/app-<hash>.js and .css, plus a .gz beside
// every compressible file. Usage: node build.mjs <out> [--node-modules <dir>]
// The output is assembled in a sibling temporary folder and renamed into place, so a failed or
// interrupted build never leaves a half-written dist behind for the server to pick up.

import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync,
         writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync, constants as zlib } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const options = { out: null, nodeModules: join(here, 'node_modules') };
for (let i = 0; i < args.length; ++i) {
  if (args[i] === '--node-modules' && i + 1 < args.length) options.nodeModules = resolve(args[++i]);
  else if (!args[i].startsWith('--') && !options.out) options.out = resolve(args[i]);
  else usage(`unknown argument '${args[i]}'`);
}
if (!options.out) usage('no output folder given');

function usage(problem) {
  console.error(`web build: ${problem}\nusage: node build.mjs <out> [--node-modules <dir>]`);
  process.exit(2);
}

// The whole bundle must stay far below this: the page has to load fast on a phone on call.
const JS_BUDGET_BYTES = 200 * 1024;
const COMPRESSIBLE = /\.(html|js|css|svg|json|map|txt)$/;
const MOUNT = '/dashboard/';

function fail(message) {
  throw new Error(message);
}

function listFiles(dir) {
  const files = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...listFiles(path));
    else files.push(path);
  }
  return files;
}

// esbuild comes from the node_modules given (the build tree's), not from beside this script.
const { build } = createRequire(join(options.nodeModules, '..', 'package.json'))('esbuild');

const staging = `${options.out}.tmp-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });

try {
  const result = await build({
    entryPoints: { app: join(here, 'src', 'main.js') },
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    entryNames: 'assets/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    outdir: staging,
    nodePaths: [options.nodeModules],
    metafile: true,
    legalComments: 'eof',
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => relative(staging, resolve(p)));
  const js = outputs.find((p) => p.endsWith('.js'));
  const css = outputs.find((p) => p.endsWith('.css'));
  if (!js || !css) fail(`expected one .js and one .css output, got ${outputs.join(', ')}`);

  const template = readFileSync(join(here, 'src', 'index.html'), 'utf8');
  if (!template.includes('%APP_JS%') || !template.includes('%APP_CSS%'))
    fail('src/index.html must reference %APP_JS% and %APP_CSS%');
  writeFileSync(join(staging, 'index.html'),
                template.replaceAll('%APP_JS%', MOUNT + js).replaceAll('%APP_CSS%', MOUNT + css));

  let jsBytes = 0;
  const summary = [];
  for (const file of listFiles(staging)) {
    const body = readFileSync(file);
    if (file.endsWith('.js')) jsBytes += body.length;
    let line = `${relative(staging, file).padEnd(32)} ${String(body.length).padStart(8)} B`;
    if (COMPRESSIBLE.test(file) && body.length > 512) {
      const packed = gzipSync(body, { level: zlib.Z_BEST_COMPRESSION });
      if (packed.length < body.length) {
        writeFileSync(`${file}.gz`, packed);
        line += `  ${String(packed.length).padStart(8)} B gzip`;
      }
    }
    summary.push(line);
  }
  if (jsBytes > JS_BUDGET_BYTES)
    fail(`JavaScript is ${jsBytes} bytes, over the ${JS_BUDGET_BYTES}-byte budget`);

  if (existsSync(options.out)) rmSync(options.out, { recursive: true, force: true });
  mkdirSync(dirname(options.out), { recursive: true });
  renameSync(staging, options.out);
  console.log(`web build: ${options.out}\n  ${summary.join('\n  ')}`);
} catch (error) {
  rmSync(staging, { recursive: true, force: true });
  console.error(`web build: ${error.message}`);
  process.exit(1);
}
