/**
 * `npm run build` (and so `npm ci`, through `prepare`): the worker build (worker-build.ts)
 * and the host build (host-build.ts). `--if-stale` leaves a build whose sources are
 * unchanged as it is.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildHost, HOST_BUILD_DIR } from "./host-build.ts";
import { BUILD_DIR, currentStaleReason } from "./manifest.ts";
import type { BuildReport } from "./tree-build.ts";
import { buildWorkers } from "./worker-build.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const ifStale = process.argv.includes("--if-stale");
const builds: { name: string; dir: string; build: () => BuildReport }[] = [
  { name: "worker build", dir: BUILD_DIR, build: () => buildWorkers({ root }) },
  { name: "host build", dir: HOST_BUILD_DIR, build: () => buildHost(root) },
];
for (const { name, dir, build } of builds) {
  if (ifStale && currentStaleReason(root, path.join(root, dir)) === undefined) {
    console.log(`${name}: ${dir} is up to date`);
    continue;
  }
  const started = performance.now();
  const report = build();
  const ms = (performance.now() - started).toFixed(0);
  const where = path.relative(root, report.buildDir);
  const parts = Object.entries(report.bundled).map(
    ([entry, done]) => `${entry} ${done ? "bundled" : "left as modules: rolldown not installed"}`,
  );
  const detail = parts.length === 0 ? "" : ` (${parts.join("; ")})`;
  console.log(`${name}: ${report.modules.length} modules → ${where} in ${ms} ms${detail}`);
}
