/**
 * The SDK's logger as Capsule uses it: the SDK's own console logger, except for one
 * warning that is expected here and says nothing wrong. When a restarted process rejoins
 * an execution (`run(id)` on an id it recovers), the store's re-dispatch and the rejoin
 * both try to take the same task; the one that loses logs "Task not in pending state"
 * although the task runs exactly once. That one is logged at debug level instead.
 */
import { ConsoleLogger, type Logger, type LogLevel } from "@resonatehq/sdk";

type Fields = Parameters<Logger["warn"]>[0];

export function capsuleLogger(
  level: LogLevel = "warn",
  inner: Logger = new ConsoleLogger(level),
): Logger {
  return {
    debug: (fields, msg) => inner.debug(fields, msg),
    info: (fields, msg) => inner.info(fields, msg),
    warn: (fields, msg) =>
      isLostTaskRace(fields, msg) ? inner.debug(fields, msg) : inner.warn(fields, msg),
    error: (fields, msg) => inner.error(fields, msg),
  };
}

function isLostTaskRace(fields: Fields, msg: string): boolean {
  return msg === "onMessage failed" && fields.error === "Task not in pending state";
}
