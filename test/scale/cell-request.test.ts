// What a worker accepts as a cell request: it reads it from the store, where any client
// could have written anything, so a bad one fails with a code instead of running.
import { describe, expect, it } from "vitest";
import { parseCellRequest } from "../../durable/groups/cell-request.ts";
import { groupTarget } from "../../durable/groups/target.ts";

const good = { v: 1, execution: "job-1", session: "s", index: 0, code: "1", prev: "" };

describe("cell requests", () => {
  it("accepts a well-formed request", () => {
    expect(parseCellRequest(good)).toEqual(good);
    expect(parseCellRequest({ ...good, timeoutMs: 5, mode: "async_def" })).toMatchObject({
      mode: "async_def",
    });
    expect(parseCellRequest({ ...good, live: true, inputTimeoutMs: 100 })).toMatchObject({
      live: true,
      inputTimeoutMs: 100,
    });
    expect(parseCellRequest({ ...good, capabilities: ["notify", "$x"] })).toMatchObject({
      capabilities: ["notify", "$x"],
    });
  });

  it.each([
    ["not an object", "not an object"],
    [{ ...good, v: 2 }, "unsupported version 2"],
    [{ ...good, code: 7 }, "code is not a string"],
    [{ ...good, prev: undefined }, "prev is not a string"],
    [{ ...good, index: -1 }, "index is not a cell position"],
    [{ ...good, index: 1.5 }, "index is not a cell position"],
    [{ ...good, timeoutMs: 0 }, "timeoutMs is not a positive number"],
    [{ ...good, mode: "fast" }, "unknown mode fast"],
    [{ ...good, live: "yes" }, "live is not a boolean"],
    [{ ...good, inputTimeoutMs: -1 }, "inputTimeoutMs is not a positive number"],
    [{ ...good, capabilities: "notify" }, "capabilities is not a list of names"],
    [{ ...good, capabilities: ["no tify"] }, "capabilities is not a list of names"],
    [{ ...good, capabilities: [1] }, "capabilities is not a list of names"],
  ])("refuses %j with GROUP_REQUEST_INVALID", (request, message) => {
    expect(() => parseCellRequest(request)).toThrow(
      expect.objectContaining({
        code: "GROUP_REQUEST_INVALID",
        message: expect.stringContaining(message),
      }),
    );
  });

  it("targets the group, preferring a worker when one is known", () => {
    expect(groupTarget("cells", undefined)).toBe("poll://any@cells");
    expect(groupTarget("cells", "w1")).toBe("poll://any@cells/w1");
    expect(groupTarget("a/b", "p q")).toBe("poll://any@a%2Fb/p%20q");
  });
});
