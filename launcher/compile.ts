// Compiles a TypeScript rank program once, on the launcher host, with esbuild, so ranks
// start on plain `node` instead of each loading tsx and compiling the program again.
//
// The program and every local file it imports are bundled into one ES module; packages
// (anything imported by a bare name: zcmpi, ssh2, ...) stay external and are imported by
// the absolute file: URL esbuild resolved them to, so the bundle behaves the same
// wherever it is stored. node builtins stay external as they are. Each bundled file's
// `import.meta.url` / `.dirname` / `.filename` is replaced by its own source location,
// so paths computed from them (zcmpi's runtime finds its native addon that way) are the
// ones the file would see if it ran from source. The bundle carries an inline source map
// with absolute `file:` sources: ranks run with --enable-source-maps and stack traces
// (strict-mode reports too) name .ts lines.
//
// The cache is keyed by content: a manifest per program lists every input (bundled
// files, the entry files of the external packages, the tsconfig.json and package.json
// that govern each source directory) with its SHA-256; a launch re-hashes them (a few
// ms) and reuses the bundle when all match, without loading esbuild. Any change, in the
// program or in a file it imports, compiles again. Files are written to a temporary name
// and renamed, so concurrent launches share the cache safely.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { homedir, tmpdir } from 'node:os';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Message, Plugin } from 'esbuild';

export const TS_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);

/** Changes whenever the bundle format below changes, so old cache entries are not reused. */
const FORMAT_VERSION = 2;

/** What a rank runs: `node ...nodeOptions file args`. */
export interface ProgramLaunch {
  /** The user's program (absolute), for messages and the "program exists" check on hosts. */
  program: string;
  /** The file node runs: the program itself, or its compiled bundle. */
  file: string;
  /** Node options before the file. */
  nodeOptions: string[];
  /** Set when the program was compiled: the bundle's bytes and SHA-256 (hex), to ship to hosts. */
  bundle?: { hash: string; bytes: Buffer };
  /** How the bundle was obtained (for messages and the launch benchmark). */
  cache?: 'hit' | 'miss';
  /** Milliseconds spent here (cache check + compile). */
  ms: number;
}

/** A compile error: one line per esbuild message, `file:line:column: text`. */
export class CompileError extends Error {}

/** True for programs that zcmpirun compiles (TypeScript). */
export function needsCompile(program: string): boolean {
  return TS_EXTENSIONS.has(extname(program).toLowerCase());
}

/**
 * The compile cache directory: $ZCMPI_CACHE_DIR, else $XDG_CACHE_HOME/zcmpi, else
 * ~/.cache/zcmpi. (The one place the launcher reads ZCMPI_CACHE_DIR.)
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ZCMPI_CACHE_DIR) return resolve(env.ZCMPI_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(xdg, 'zcmpi');
}

interface Manifest {
  version: number;
  entry: string;
  /** Absolute path -> SHA-256 of its content; '' for a file that must not exist. */
  inputs: Record<string, string>;
  /** SHA-256 of the bundle: it is bundles/<hash>/<entry path>.mjs. */
  bundle: string;
}

/**
 * Where a bundle is stored: under its hash, then the program's own absolute path, so
 * `ps` (and the tests' leftover checks) still show which program a rank runs.
 */
export function bundlePath(dir: string, hash: string, entry: string): string {
  return join(dir, 'bundles', hash, `${entry}.mjs`);
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function hashFile(path: string): string | null {
  try {
    return sha256(readFileSync(path));
  } catch {
    return null;
  }
}

function writeAtomically(path: string, data: Buffer | string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, data, { mode: 0o600 });
  renameSync(tmp, path);
}

/** The cached bundle for `entry` when every recorded input is unchanged. */
function lookup(dir: string, manifestPath: string, entry: string): { path: string; bytes: Buffer; hash: string } | null {
  let m: Manifest;
  try {
    m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
  } catch {
    return null;
  }
  if (m.version !== FORMAT_VERSION || m.entry !== entry || typeof m.inputs !== 'object') return null;
  for (const [path, hash] of Object.entries(m.inputs)) {
    const now = hashFile(path);
    if (hash === '' ? now !== null : now !== hash) return null;
  }
  const path = bundlePath(dir, m.bundle, entry);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null;
  }
  const hash = sha256(bytes);
  // A bundle is stored under its own hash: anything else there is damaged.
  if (hash !== m.bundle) return null;
  return { path, bytes, hash };
}

const LOADERS: Record<string, 'ts' | 'tsx' | 'js' | 'jsx'> = {
  '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.tsx': 'tsx', '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.jsx': 'jsx',
};
const BUILTINS = new Set(builtinModules);
const IMPORT_META = /\bimport\.meta\.(url|dirname|filename)\b/g;

/** Keeps packages external (by absolute URL) and gives each bundled file its own import.meta. */
function launchPlugin(externals: Set<string>): Plugin {
  return {
    name: 'zcmpi-launch',
    setup(build) {
      // Bare specifiers: builtins and packages. ('#x' package imports and paths are local.)
      build.onResolve({ filter: /^[^./#]/ }, async args => {
        if ((args.pluginData as { inner?: boolean } | undefined)?.inner) return undefined;
        if (args.path.startsWith('node:') || BUILTINS.has(args.path)) return { path: args.path, external: true };
        if (/^[a-z][a-z0-9+.-]*:/i.test(args.path)) return { path: args.path, external: true }; // file:, data: URLs
        const r = await build.resolve(args.path, { kind: args.kind, resolveDir: args.resolveDir, importer: args.importer, pluginData: { inner: true } });
        if (r.errors.length > 0) {
          // esbuild does not resolve a package's references to itself by name (node does).
          const self = resolveSelfReference(args.path, args.resolveDir);
          if (self === null) return { errors: r.errors };
          externals.add(self);
          return { path: pathToFileURL(self).href, external: true };
        }
        if (r.external || r.path === '') return { path: args.path, external: true };
        // A bare name that resolves to TypeScript (tsconfig `paths`): node cannot run it, bundle it.
        if (TS_EXTENSIONS.has(extname(r.path).toLowerCase())) return { path: r.path };
        externals.add(r.path);
        return { path: pathToFileURL(r.path).href, external: true };
      });
      build.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, args => {
        const source = readFileSync(args.path, 'utf8');
        if (!source.includes('import.meta')) return undefined;
        const url = pathToFileURL(args.path).href;
        // Same line, so only columns on that line move in the source map.
        const contents = source.replace(IMPORT_META, (_m, what: string) =>
          JSON.stringify(what === 'url' ? url : what === 'dirname' ? dirname(args.path) : args.path));
        return { contents, loader: LOADERS[extname(args.path).toLowerCase()] ?? 'js', resolveDir: dirname(args.path) };
      });
    },
  };
}

/**
 * `import 'pkg/sub'` from inside package `pkg` itself: node resolves it through the
 * package's own "exports" (conditions import, node, default). Null when that does not apply.
 */
export function resolveSelfReference(specifier: string, fromDir: string): string | null {
  const m = /^((?:@[^/]+\/)?[^/]+)(\/.*)?$/.exec(specifier);
  if (!m) return null;
  const [, name, sub] = m;
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      let pkg: { name?: string; exports?: unknown };
      try { pkg = JSON.parse(readFileSync(pj, 'utf8')) as typeof pkg; } catch { return null; }
      if (pkg.name !== name || pkg.exports === undefined) return null;
      const key = sub === undefined ? '.' : `.${sub}`;
      const exp = pkg.exports;
      let target: unknown = typeof exp === 'string' || Array.isArray(exp) || !Object.keys(exp as object).some(k => k.startsWith('.'))
        ? (key === '.' ? exp : undefined)
        : (exp as Record<string, unknown>)[key];
      // Conditions in the order node checks them for an import.
      while (target !== null && typeof target === 'object' && !Array.isArray(target)) {
        const t = target as Record<string, unknown>;
        target = ['import', 'node', 'default'].map(c => t[c]).find(v => v !== undefined);
      }
      if (typeof target !== 'string' || !target.startsWith('./')) return null;
      const file = join(dir, target);
      return existsSync(file) ? file : null;
    }
    if (dirname(dir) === dir) return null;
  }
}

function formatMessages(entry: string, errors: Message[]): string {
  const lines = errors.map(e => {
    const where = e.location ? `${resolve(dirname(entry), e.location.file)}:${e.location.line}:${e.location.column + 1}: ` : '';
    return `${where}${e.text}`;
  });
  return `cannot compile ${entry}:\n  ${lines.join('\n  ')}`;
}

/** Files that decide how the sources compile: the nearest tsconfig.json and package.json above each. */
function governingFiles(sources: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  for (const src of sources) {
    for (const name of ['tsconfig.json', 'package.json']) {
      let dir = dirname(src);
      for (;;) {
        const key = `${dir}\0${name}`;
        if (seen.has(key)) break;
        seen.add(key);
        const f = join(dir, name);
        const h = hashFile(f);
        if (h !== null) {
          out[f] = h;
          break;
        }
        out[f] = ''; // must stay absent: one appearing would change the compile
        const up = dirname(dir);
        if (up === dir) break;
        dir = up;
      }
    }
  }
  return out;
}

async function compile(entry: string, dir: string, manifestPath: string): Promise<{ path: string; bytes: Buffer; hash: string }> {
  const esbuild = await import('esbuild');
  const externals = new Set<string>();
  let result;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: `node${process.versions.node.split('.')[0]}`,
      sourcemap: 'external',
      sourcesContent: false,
      metafile: true,
      write: false,
      outfile: join(dir, 'bundles', 'out.mjs'),
      absWorkingDir: dirname(entry),
      logLevel: 'silent',
      // process.argv[1] is the user's program, as when it runs from source.
      banner: { js: `process.argv[1] = ${JSON.stringify(entry)};` },
      plugins: [launchPlugin(externals)],
    });
  } catch (err) {
    const errors = (err as { errors?: Message[] }).errors;
    if (errors && errors.length > 0) throw new CompileError(formatMessages(entry, errors));
    throw new CompileError(`cannot compile ${entry}: ${(err as Error).message}`);
  }
  const js = result.outputFiles.find(f => f.path.endsWith('.mjs'));
  const map = result.outputFiles.find(f => f.path.endsWith('.map'));
  if (!js || !map) throw new CompileError(`cannot compile ${entry}: esbuild produced no output`);
  // Absolute sources, so the map holds wherever the bundle is stored (cache, remote hosts).
  const sm = JSON.parse(map.text) as { sources: string[] };
  const outDir = dirname(js.path);
  sm.sources = sm.sources.map(s => pathToFileURL(resolve(outDir, s)).href);
  const code = js.text.replace(/\n\/\/# sourceMappingURL=.*\n?$/, '\n');
  const bytes = Buffer.from(`${code}//# sourceMappingURL=data:application/json;base64,${Buffer.from(JSON.stringify(sm)).toString('base64')}\n`);
  const hash = sha256(bytes);
  const path = bundlePath(dir, hash, entry);
  if (!existsSync(path)) writeAtomically(path, bytes);

  const sources = Object.keys(result.metafile.inputs).map(p => resolve(dirname(entry), p.replace(/^file:/, '')));
  const inputs: Record<string, string> = {};
  for (const f of [...sources, ...externals]) {
    const h = hashFile(f);
    if (h !== null) inputs[f] = h;
  }
  Object.assign(inputs, governingFiles(sources));
  const manifest: Manifest = { version: FORMAT_VERSION, entry, inputs, bundle: hash };
  writeAtomically(manifestPath, JSON.stringify(manifest));
  return { path, bytes, hash };
}

/** Cache identity of a program: its path and the compiler (zcmpi's esbuild, format version). */
function manifestName(entry: string): string {
  let esbuildVersion = '?';
  try {
    const pkg = fileURLToPath(import.meta.resolve('esbuild/package.json'));
    esbuildVersion = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch { /* unresolvable here: compile() reports it */ }
  return `${sha256(`${FORMAT_VERSION}\0${esbuildVersion}\0${process.versions.node}\0${entry}`)}.json`;
}

/**
 * What ranks run for `program`: TypeScript is compiled (or taken from the cache) into a
 * bundle run with --enable-source-maps; JavaScript runs as it is. Rejects with a
 * CompileError that names file:line:column of each error.
 */
export async function prepareProgram(program: string, env: NodeJS.ProcessEnv = process.env): Promise<ProgramLaunch> {
  const t0 = performance.now();
  if (!needsCompile(program)) return { program, file: program, nodeOptions: [], ms: performance.now() - t0 };
  let dir = cacheDir(env);
  try {
    mkdirSync(join(dir, 'bundles'), { recursive: true, mode: 0o700 });
  } catch {
    // An unwritable cache (read-only home): a private one for this user in the temp dir.
    dir = join(tmpdir(), `zcmpi-cache-${process.getuid?.() ?? 'user'}`);
    mkdirSync(join(dir, 'bundles'), { recursive: true, mode: 0o700 });
  }
  const manifestPath = join(dir, 'programs', manifestName(program));
  let cache: 'hit' | 'miss' = 'hit';
  let got = lookup(dir, manifestPath, program);
  if (got === null) {
    cache = 'miss';
    got = await compile(program, dir, manifestPath);
  }
  return {
    program, file: got.path, nodeOptions: ['--enable-source-maps'],
    bundle: { hash: got.hash, bytes: got.bytes }, cache, ms: performance.now() - t0,
  };
}
