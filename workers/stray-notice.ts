/**
 * What the user reads when the service thread stopped a callback that held the main thread
 * (see executors/main-watch.ts): one stderr line with a stable code to match on.
 */
import type { StrayNotice } from "./executors/service-link.ts";

/** The stable code in the notice of a stopped stray callback. */
export const STRAY_CODE = "STRAY_CALLBACK_STOPPED";

/**
 * The notice's text, or undefined when the current cell had been stopped already: its own
 * error (timed out, cancelled) says why, and what was cut may have been its own callback.
 */
export function strayNoticeText(notice: StrayNotice): string | undefined {
  if (notice.afterStop) return undefined;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  if (notice.waitingCell !== undefined)
    return `[capsule: ${STRAY_CODE}: a callback left by an earlier cell held the main thread without yielding; it was stopped after this cell waited ${seconds(notice.heldMs)} for it]\n`;
  return `[capsule: ${STRAY_CODE}: a callback held the main thread without yielding for longer than the cell time limit (${seconds(notice.limitMs)}) and was stopped]\n`;
}
