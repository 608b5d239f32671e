/**
 * The worker's start-up configuration: the JSON the host passes as the process's one
 * argument (see src/session/spawn.ts). Checked by hand rather than with zod: the main
 * thread would load zod for this alone, and it is on every session's start-up path.
 */

/** What the host configures for one worker. */
export interface WorkerConfig {
  moduleRoot: string;
  heartbeatMs: number;
  graceMs: number;
  outputLimitBytes: number;
  checkpointMaxBytes: number;
  defaultTimeoutMs: number;
  maxFrameBytes: number;
  memoryLimitBytes: number;
  /** Load and compile the checkpoint codec while idle after READY (see warm-up.ts). */
  warmCheckpoints: boolean;
}

/** How each number must look: `nonnegative` allows 0 and fractions, `positiveInt` neither. */
const NUMBER_FIELDS = {
  heartbeatMs: "nonnegative",
  graceMs: "nonnegative",
  outputLimitBytes: "positiveInt",
  checkpointMaxBytes: "positiveInt",
  defaultTimeoutMs: "positiveInt",
  maxFrameBytes: "positiveInt",
  memoryLimitBytes: "positiveInt",
} as const satisfies Record<Exclude<keyof WorkerConfig, "moduleRoot" | "warmCheckpoints">, string>;

/** Parses and checks the configuration; throws naming the first field that is wrong. */
export function parseWorkerConfig(text: string): WorkerConfig {
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new TypeError("worker config: expected a JSON object");
  }
  const fields = parsed as Record<string, unknown>;
  if (typeof fields.moduleRoot !== "string") {
    throw new TypeError("worker config: moduleRoot must be a string");
  }
  if (typeof fields.warmCheckpoints !== "boolean") {
    throw new TypeError("worker config: warmCheckpoints must be a boolean");
  }
  const config: Partial<WorkerConfig> = {
    moduleRoot: fields.moduleRoot,
    warmCheckpoints: fields.warmCheckpoints,
  };
  for (const [name, kind] of Object.entries(NUMBER_FIELDS)) {
    const value = fields[name];
    const valid =
      typeof value === "number" &&
      Number.isFinite(value) &&
      (kind === "nonnegative" ? value >= 0 : Number.isInteger(value) && value > 0);
    if (!valid) {
      const expected = kind === "nonnegative" ? "a number ≥ 0" : "a positive integer";
      throw new TypeError(`worker config: ${name} must be ${expected}, got ${String(value)}`);
    }
    config[name as keyof typeof NUMBER_FIELDS] = value;
  }
  return config as WorkerConfig;
}
