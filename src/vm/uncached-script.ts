/**
 * Compiles a script without entering it into V8's compilation cache.
 *
 * V8 keeps every compiled script in a per-isolate cache keyed by its source and origin,
 * so that compiling the same text again is a lookup. A cell never repeats its origin (each
 * has its own file name), so for cells the cache only costs: it keeps every cell's script
 * alive for the life of the worker, ~1.3 KiB of heap per cell that no GC frees (10,000
 * cells of `1 + 1`: +12.5 MiB, against 50 B a cell without it), and lookups slow down as
 * it grows. With `--experimental-vm-modules` (which the worker needs for a cell's
 * `import()`), each script also carries its own host-defined options, so scripts of equal
 * source and file name never match but pile up under one key: compiling them turns
 * quadratic (20,000 compiles of one text under one name: 8 ms each by the end).
 *
 * The cache can only be switched off for the whole isolate, by flag: it is off for the
 * compile here and on again right after (whatever happens), before any user code runs,
 * so `eval` and `new Function` in user code keep their cache (without it, 100,000 evals of
 * one expression take 60x as long). V8 reads the flag only when it compiles a top-level
 * script or an eval; should another thread of the process do so meanwhile (the worker's
 * service thread, while it boots), that script merely goes uncached.
 */
import v8 from "node:v8";
import vm from "node:vm";

export function compileUncached(source: string, options: vm.ScriptOptions): vm.Script {
  v8.setFlagsFromString("--no-compilation-cache");
  try {
    return new vm.Script(source, options);
  } finally {
    v8.setFlagsFromString("--compilation-cache");
  }
}
