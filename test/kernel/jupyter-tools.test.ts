// Conformance with the real Jupyter tools: the official kernel test suite
// (jupyter_kernel_test), and a notebook run by nbclient whose kernel is killed with
// kill -9 mid-notebook and restarted by the kernel manager, finishing with the
// namespace back. Without the tools this fails in CI and is a visible skip locally.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { cleanup, ROOT } from "../cli/cli-process.ts";
import { jupyterEnv, missingJupyterTools, python } from "./jupyter-tools.ts";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const missing = missingJupyterTools();
const inCi = process.env.CI === "true";
if (missing !== undefined && !inCi) console.warn(`SKIPPED Jupyter conformance tests: ${missing}`);

afterAll(cleanup);

describe.skipIf(missing !== undefined && !inCi)("with Jupyter's own tools", () => {
  it("has the Jupyter tools installed (CI installs them in .ci/run)", () => {
    expect(missing, missing).toBeUndefined();
  });

  it("passes jupyter_kernel_test, the official kernel conformance suite", async () => {
    const jupyter = await jupyterEnv();
    const result = await python(["-m", "unittest", "-v", "conformance"], {
      ...jupyter.env,
      PYTHONPATH: HERE,
    });
    // unittest reports on stderr; a failure shows which protocol check broke.
    expect(result.stderr, result.stderr).toMatch(/\nOK( \(skipped=\d+\))?\n/);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/test_execute_result .*ok/);
    expect(result.stderr).toMatch(/test_history .*ok/);
    expect(result.stderr).toMatch(/test_display_data .*ok/);
    expect(result.stderr).toMatch(/test_clear_output .*ok/);
  });

  it("finishes a notebook after kill -9 of its kernel mid-notebook, with the namespace back", async () => {
    const jupyter = await jupyterEnv();
    const notebook = path.join(jupyter.dir, "notebook.ipynb");
    fs.copyFileSync(path.join(ROOT, "examples", "notebook.ipynb"), notebook);
    const result = await python(
      [path.join(HERE, "run_notebook.py"), notebook, jupyter.kernelName, "--kill-after", "2"],
      // As a Jupyter server does: the kernel learns which notebook it serves.
      { ...jupyter.env, JPY_SESSION_NAME: notebook },
    );
    expect(result.code, result.stderr).toBe(0);
    const run = JSON.parse(result.stdout) as {
      pids: number[];
      outputs: {
        output_type: string;
        text?: string;
        data?: Record<string, string>;
        execution_count?: number;
      }[][];
    };
    // Two kernel processes: the one killed after cell 2 and its replacement.
    expect(run.pids).toHaveLength(2);
    expect(run.pids[0]).not.toBe(run.pids[1]);
    // Cells 3-5 ran on the new process using orders, total and Table from cells 1-2.
    const [, totalCell, tableCell, mapCell, lastCell] = run.outputs;
    expect(totalCell?.[0]?.data?.["text/plain"]).toBe("17.75");
    expect(tableCell?.[0]?.data?.["text/html"]).toContain("<td>coffee</td>");
    expect(tableCell?.[0]?.execution_count).toBe(3);
    expect(mapCell?.[0]?.data?.["text/plain"]).toBe("{ item: 'coffee', qty: 1, price: 4 }");
    expect(lastCell).toEqual([
      { output_type: "stream", name: "stdout", text: "total: 17.75 for 3 items\n" },
    ]);
  });
});
