/**
 * The sandbox modes isolation tests run under. `namespaces` is skipped, loudly, only
 * where bubblewrap cannot run (CI installs it, see .ci/run).
 */
import type { SandboxMode } from "../../src/session/options.ts";
import { probeSandbox } from "../../src/session/sandbox.ts";

const probe = await probeSandbox();
if (!probe.available) {
  console.warn(`\n*** SKIPPING sandbox "namespaces" tests: ${probe.reason} ***\n`);
}

export const SANDBOX_MODES: { sandbox: SandboxMode; skip: boolean }[] = [
  { sandbox: "namespaces", skip: !probe.available },
  { sandbox: "permissions-only", skip: false },
];
