/**
 * What the terminal can show: colors and a spinner only when stdout is a TTY (and
 * `NO_COLOR` is unset); plain text in a pipe, so scripts and tests read stable output.
 */

export interface Style {
  readonly color: boolean;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  bold(text: string): string;
}

export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  const noColor = process.env.NO_COLOR;
  return stream.isTTY === true && (noColor === undefined || noColor === "");
}

function sgr(on: boolean, open: number, close: number): (text: string) => string {
  return on ? (text) => `\u001b[${open}m${text}\u001b[${close}m` : (text) => text;
}

export function createStyle(color: boolean): Style {
  return {
    color,
    dim: sgr(color, 2, 22),
    red: sgr(color, 31, 39),
    green: sgr(color, 32, 39),
    yellow: sgr(color, 33, 39),
    cyan: sgr(color, 36, 39),
    bold: sgr(color, 1, 22),
  };
}

/** Colors a promise state the way `ls`, `show` and `tree` print it. */
export function styleState(style: Style, state: string): string {
  if (state === "resolved") return style.green(state);
  if (state === "pending") return style.yellow(state);
  return style.red(state);
}

export interface Spinner {
  /** Hides the spinner (before output is written); it comes back with `resume`. */
  pause(): void;
  resume(): void;
  stop(): void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const NO_SPINNER: Spinner = { pause() {}, resume() {}, stop() {} };

/**
 * A spinner with elapsed time on stderr while something runs; a no-op unless both stdout
 * and stderr are terminals (a pipe never receives control sequences).
 */
export function startSpinner(label: string, enabled: boolean): Spinner {
  if (!enabled || process.stderr.isTTY !== true) return NO_SPINNER;
  const started = performance.now();
  let frame = 0;
  let visible = false;
  let paused = false;
  const clear = () => {
    if (visible) process.stderr.write("\r\u001b[2K");
    visible = false;
  };
  const draw = () => {
    if (paused) return;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    process.stderr.write(`\r\u001b[2K${FRAMES[frame % FRAMES.length]} ${label} ${seconds}s`);
    frame++;
    visible = true;
  };
  const timer = setInterval(draw, 100);
  timer.unref();
  return {
    pause() {
      paused = true;
      clear();
    },
    resume() {
      paused = false;
    },
    stop() {
      clearInterval(timer);
      clear();
    },
  };
}
