import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Sessions spawn real processes; on a 2-core machine a generous limit keeps a slow
    // machine from failing a correct test. Tests synchronize by messages, never by time.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    globalSetup: ["test/global-setup.ts"],
    // CI reads the JSON report to print its closing `N passed, N failed` line.
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: ".vitest-report.json" },
  },
});
