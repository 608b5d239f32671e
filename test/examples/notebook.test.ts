// examples/notebook.ipynb, executed by nbclient on the Capsule kernel as CI runs it:
// every cell succeeds and shows what the notebook says it shows.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { cleanup, ROOT } from "../cli/cli-process.ts";
import { jupyterEnv, missingJupyterTools, python } from "../kernel/jupyter-tools.ts";

const RUNNER = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  "..",
  "kernel",
  "run_notebook.py",
);
const missing = missingJupyterTools();
const inCi = process.env.CI === "true";
if (missing !== undefined && !inCi) console.warn(`SKIPPED examples/notebook.ipynb: ${missing}`);

afterAll(cleanup);

describe.skipIf(missing !== undefined && !inCi)("examples/notebook.ipynb", () => {
  it("runs to the end under nbclient", async () => {
    expect(missing, missing).toBeUndefined();
    const jupyter = await jupyterEnv("capsule-example");
    const notebook = path.join(ROOT, "examples", "notebook.ipynb");
    const result = await python([RUNNER, notebook, jupyter.kernelName], {
      ...jupyter.env,
      JPY_SESSION_NAME: notebook,
    });
    expect(result.code, result.stderr).toBe(0);
    const outputs = (
      JSON.parse(result.stdout) as { outputs: { data?: Record<string, string>; text?: string }[][] }
    ).outputs;
    expect(outputs.map((cell) => cell[0]?.data?.["text/plain"] ?? cell[0]?.text)).toEqual([
      "3",
      "17.75",
      expect.stringContaining("Table {"),
      "{ item: 'coffee', qty: 1, price: 4 }",
      "total: 17.75 for 3 items\n",
      // The named display, replaced by its update at the end of the cell.
      "6 units",
    ]);
    expect(outputs[2]?.[0]?.data?.["text/html"]).toContain("<th>item</th>");
    const displays = outputs[5] ?? [];
    expect(displays.map((output) => output.data?.["text/plain"])).toEqual([
      "6 units",
      "tea: 2",
      "coffee: 1",
      "cake: 3",
    ]);
    expect(displays[0]?.data?.["text/html"]).toBe("<b>6 units</b>");
    expect(displays[1]?.data?.["image/svg+xml"]).toContain('width="60"');
  });
});
