/**
 * The worker's start-up configuration is checked without zod (it is on every session's
 * start-up path): what the host sends is accepted as is, and anything else is refused
 * naming the field.
 */
import { describe, expect, it } from "vitest";
import { parseWorkerConfig } from "../../workers/config.ts";

const valid = {
  moduleRoot: "/project",
  heartbeatMs: 0,
  graceMs: 2.5,
  outputLimitBytes: 1024,
  checkpointMaxBytes: 4096,
  defaultTimeoutMs: 30_000,
  maxFrameBytes: 65_536,
  memoryLimitBytes: 512 * 1024 * 1024,
  warmCheckpoints: false,
};

describe("worker config", () => {
  it("accepts what the host sends", () => {
    expect(parseWorkerConfig(JSON.stringify(valid))).toEqual(valid);
  });

  it.each([
    ["moduleRoot", 7, /moduleRoot must be a string/],
    ["heartbeatMs", -1, /heartbeatMs must be a number ≥ 0, got -1/],
    ["outputLimitBytes", 0, /outputLimitBytes must be a positive integer, got 0/],
    ["maxFrameBytes", 1.5, /maxFrameBytes must be a positive integer/],
    ["memoryLimitBytes", "512", /memoryLimitBytes must be a positive integer, got 512/],
    ["defaultTimeoutMs", undefined, /defaultTimeoutMs must be a positive integer, got undefined/],
    ["warmCheckpoints", "yes", /warmCheckpoints must be a boolean/],
  ])("refuses a bad %s", (field, value, message) => {
    expect(() => parseWorkerConfig(JSON.stringify({ ...valid, [field]: value }))).toThrow(message);
  });

  it("refuses what is not an object", () => {
    expect(() => parseWorkerConfig("[1]")).toThrow(/expected a JSON object/);
    expect(() => parseWorkerConfig("null")).toThrow(/expected a JSON object/);
  });
});
