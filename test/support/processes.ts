/** Process checks shared by tests that start real processes. */

/** True while a process with this pid exists. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Waits until none of `pids` exists and returns those still alive at the deadline.
 * Condition polling, not a sleep-to-synchronize: a worker is not our child, so there is
 * no exit event to wait for; `kill(pid, 0)` is checked until it fails or time is up.
 */
export async function waitForPidsGone(pids: number[], deadlineMs = 30_000): Promise<number[]> {
  const until = Date.now() + deadlineMs;
  let remaining = pids.filter(processExists);
  while (remaining.length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    remaining = remaining.filter(processExists);
  }
  return remaining;
}
