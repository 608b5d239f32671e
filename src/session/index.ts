/**
 * Sessions: isolated worker processes with a persistent namespace, and a pool of them.
 *
 * ```ts
 * const pool = new SessionPool({ minIdle: 2, maxSessions: 8, limits: { timeoutMs: 10_000 } });
 * const session = await pool.acquire();
 * const r = await session.execute("const x = 41; x + 1", { onOutput: (c) => process.stdout.write(c.data) });
 * r.value; // 42
 * session.release();
 * await pool.close();
 * ```
 */
export type { Capabilities, Capability } from "./capabilities.ts";
export type { RestoreReport, SessionCheckpoint } from "./checkpoint-chain.ts";
export type {
  ExecuteOptions,
  ExecutionResult,
  Limits,
  OutputChunk,
  Permissions,
  RichOutput,
  SandboxMode,
  SessionOptions,
} from "./options.ts";
export {
  type AcquireOptions,
  type PoolOptions,
  type Reservation,
  SessionPool,
} from "./pool.ts";
export {
  type IntrospectAnswer,
  type IntrospectRequest,
  Session,
  type SessionState,
} from "./session.ts";
export { removeOrphanedWorkdirs } from "./workdirs.ts";
