/**
 * The service thread's process watch, on a fake clock: how often it looks (each look is a
 * wake-up of a thread that an idle session should not pay for) and what ends the process.
 */
import { describe, expect, it } from "vitest";
import {
  BUSY_MS,
  IDLE_BACKSTOP_MS,
  IDLE_MS,
  ProcessWatch,
} from "../../workers/executors/process-watch.ts";
import { MEMORY_LIMIT_MARKER } from "../../workers/executors/service-protocol.ts";
import { FakeClock } from "../protocol/fake-clock.ts";

function harness() {
  const clock = new FakeClock();
  const state = { cell: false, othersCpu: 0, parent: 100, rss: 50, looks: [] as number[] };
  const ended: string[] = [];
  const watch = new ProcessWatch({
    clock,
    parentPid: 100,
    memoryLimitBytes: 1000,
    cellRunning: () => state.cell,
    tick: () => state.looks.push(clock.now()),
    end: (text) => ended.push(text),
    processCpu: () => ({ user: state.othersCpu, system: 0 }),
    threadCpu: () => ({ user: 0, system: 0 }),
    parent: () => state.parent,
    rss: () => state.rss,
  });
  watch.start();
  return { clock, state, ended, watch };
}

describe("the process watch's pace", () => {
  it("looks every 200 ms while a cell runs, every second once the session is idle", () => {
    const { clock, state, watch } = harness();
    state.cell = true;
    clock.advance(1000);
    expect(state.looks).toEqual([200, 400, 600, 800, 1000]);
    state.cell = false;
    state.looks.length = 0;
    clock.advance(5000);
    // The look at 1,200 still sees the cell's end; from there on, one a second.
    expect(state.looks).toEqual([1200, 2200, 3200, 4200, 5200]);
    expect(IDLE_MS).toBe(1000);
    expect(BUSY_MS).toBe(200);
    watch.stop();
    expect(clock.pendingTimers).toBe(0);
  });

  it("goes back to 200 ms when the other threads use CPU with no cell (a stray callback)", () => {
    const { clock, state, watch } = harness();
    clock.advance(2200);
    state.looks.length = 0;
    state.othersCpu += 5000; // 5 ms of CPU before the next look
    clock.advance(2300);
    // 3,200 sees it, 3,400 sees nothing more: idle again.
    expect(state.looks).toEqual([3200, 3400, 4400]);
    watch.stop();
  });

  it("looks within 200 ms of a cell's start, however far the idle look was", () => {
    const { clock, state, watch } = harness();
    clock.advance(1200); // idle from here: the next look is due at 2,200
    state.looks.length = 0;
    clock.advance(50);
    state.cell = true;
    watch.cellStarted();
    clock.advance(200);
    expect(state.looks).toEqual([1450]);
    watch.stop();
  });

  it("while idle, looks on the heartbeats' wake-ups and keeps its timer as a backstop", () => {
    const { clock, state, watch } = harness();
    clock.advance(1200); // looks at 200 and 1,200; idle from there
    state.looks.length = 0;
    // The host's heartbeat wakes the thread every second, out of phase with the timer.
    clock.advance(350);
    watch.awake();
    for (let beat = 2; beat <= 10; beat++) {
      clock.advance(1000);
      watch.awake();
    }
    const beats = Array.from({ length: 10 }, (_, i) => 1550 + i * 1000);
    // One look per heartbeat, none of the timer's own.
    expect(state.looks).toEqual(beats);
    // With the heartbeats gone, the backstop looks on its own again, then once a second.
    state.looks.length = 0;
    clock.advance(IDLE_BACKSTOP_MS + IDLE_MS);
    // The backstop armed at 7,200 (its second, after 2,200) fires at 12,200.
    expect(state.looks).toEqual([12_200, 13_200, 14_200, 15_200, 16_200]);
    watch.stop();
  });

  it("back to 200 ms when a heartbeat's look sees the other threads busy, backstop or not", () => {
    const { clock, state, watch } = harness();
    clock.advance(1550);
    watch.awake(); // looks at 1,550
    clock.advance(1000);
    watch.awake(); // looks at 2,550; the timer is the 5 s backstop from 2,200 on
    state.othersCpu += 5000;
    clock.advance(1000);
    watch.awake(); // 3,550 sees the CPU
    state.looks.length = 0;
    clock.advance(450);
    // 200 ms later, not at the backstop (7,200); 3,750 sees no more CPU: idle again.
    expect(state.looks).toEqual([3750]);
    watch.stop();
  });

  it("does not look twice in a row when a wake-up comes right after a look", () => {
    const { clock, state, watch } = harness();
    clock.advance(1200);
    state.looks.length = 0;
    clock.advance(100);
    watch.awake(); // 100 ms after the timer's look at 1,200: too soon
    expect(state.looks).toEqual([]);
    watch.stop();
  });
});

describe("what the process watch ends the process for", () => {
  it("a host that is gone (our parent changed)", () => {
    const { clock, state, ended, watch } = harness();
    state.parent = 1;
    clock.advance(BUSY_MS);
    expect(ended).toEqual(["\ncapsule: host process 100 is gone; exiting\n"]);
    watch.stop();
  });

  it("resident memory over the limit, with the marker the host reads", () => {
    const { clock, state, ended, watch } = harness();
    state.rss = 1001;
    clock.advance(BUSY_MS);
    expect(ended).toEqual([`\n${MEMORY_LIMIT_MARKER} rss=1001\n`]);
    watch.stop();
  });
});
