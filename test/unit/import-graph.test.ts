/**
 * The folder import graph of the source (docs/architecture.md): capability folders never import the CLI,
 * lib/ imports nothing of mailgate, and no two folders import each other in a circle, type-only imports
 * included: erased at run time, they still tie the folders together for a reader and the compiler. Where
 * a capability needs something of the gateway (a plane guard's input, the admin apps' context, the
 * console's traffic chart), it declares the narrow interface it reads and the gateway's types satisfy it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const FOLDERS = ['lib', 'store', 'certs', 'tokens', 'wireguard', 'admin', 'gateway', 'cli'] as const;
const CAPABILITIES = FOLDERS.filter((f) => f !== 'cli');

interface Edge {
  from: string;
  to: string;
  file: string;
  specifier: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') || entry.name.endsWith('.tsx') ? [path] : [];
  });
}

/** Static imports and re-exports (with their `type` keyword) and dynamic import() calls. */
const IMPORT =
  /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

function edges(): Edge[] {
  const found: Edge[] = [];
  for (const folder of FOLDERS) {
    for (const file of sourceFiles(join(ROOT, folder))) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(IMPORT)) {
        const specifier = match[3] ?? match[4]!;
        if (!specifier.startsWith('.')) continue;
        const target = relative(ROOT, resolve(dirname(file), specifier));
        const to = target.split(sep)[0]!;
        if (to === folder) continue;
        found.push({
          from: folder,
          to,
          file: relative(ROOT, file),
          specifier,
          typeOnly: match[2] !== undefined,
        });
      }
    }
  }
  return found;
}

/** A cycle of folders, or undefined. */
function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

function graphOf(list: Edge[]): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>(FOLDERS.map((f) => [f, new Set()]));
  for (const edge of list) graph.get(edge.from)!.add(edge.to);
  return graph;
}

const all = edges();
const show = (list: Edge[]) => list.map((e) => `${e.file} -> ${e.specifier}`);

describe('folder import graph', () => {
  it('reads the imports it checks (sanity: the CLI imports the capabilities)', () => {
    expect(all.some((e) => e.from === 'cli' && e.to === 'certs' && !e.typeOnly)).toBe(true);
    expect(all.some((e) => e.from === 'gateway' && e.to === 'admin' && !e.typeOnly)).toBe(true);
    expect(all.some((e) => e.typeOnly)).toBe(true);
    expect(all.some((e) => e.specifier.startsWith('../commands/'))).toBe(false);
  });

  it('has no edge from a capability folder into cli/, type-only included', () => {
    expect(show(all.filter((e) => e.to === 'cli' && CAPABILITIES.includes(e.from as never)))).toEqual([]);
  });

  it('lib/ imports nothing of mailgate', () => {
    expect(show(all.filter((e) => e.from === 'lib'))).toEqual([]);
  });

  it('has no cycle between folders, type-only imports included', () => {
    const cycle = findCycle(graphOf(all));
    const witnesses = cycle
      ? cycle.slice(1).map((to, i) => show(all.filter((e) => e.from === cycle[i] && e.to === to))[0])
      : [];
    expect({ cycle, witnesses }).toEqual({ cycle: undefined, witnesses: [] });
  });

  it('finds a cycle closed by one type-only import (sanity of the check)', () => {
    const typeBack: Edge = { from: 'admin', to: 'gateway', file: '-', specifier: '-', typeOnly: true };
    expect(findCycle(graphOf([...all, typeBack]))).toBeDefined();
  });
});
