/**
 * Test helper: runs prepared cells the way the worker does, as one classic vm.Script per
 * cell in one persistent context whose global object is the namespace.
 */
import vm from "node:vm";
import { type PreparedCell, prepareCell } from "../../src/prepare/index.ts";

export class Notebook {
  readonly namespace: Record<string, unknown> = {};
  private readonly context: vm.Context;
  private cells = 0;

  constructor() {
    this.context = vm.createContext(this.namespace);
  }

  /** Prepares and runs one cell; resolves to its value (awaited when the source is async). */
  async run(code: string): Promise<unknown> {
    return (await this.runPrepared(code)).value;
  }

  async runPrepared(code: string): Promise<{ value: unknown; prepared: PreparedCell }> {
    const prepared = prepareCell(code);
    this.cells += 1;
    const script = new vm.Script(prepared.source, {
      filename: `cell-${this.cells}.ts`,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    const completion: unknown = script.runInContext(this.context);
    const value = prepared.async ? await completion : completion;
    return { value, prepared };
  }

  /** Evaluates an expression directly in the context (no preparation), to inspect state. */
  peek(expression: string): unknown {
    return vm.runInContext(expression, this.context);
  }
}
