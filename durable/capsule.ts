/**
 * Capsule: durable functions whose steps are code cells in isolated sessions. See
 * index.ts for the contract; this file wires the parts together.
 */
import { randomUUID } from "node:crypto";
import path from "node:path";
import type { LogLevel, Network } from "@resonatehq/sdk";
import { Resonate, type ResonateHandle } from "@resonatehq/sdk/async";
import type { PoolOptions } from "../src/session/index.ts";
import { SessionPool } from "../src/session/index.ts";
import { probeSandbox } from "../src/session/sandbox.ts";
import { AttemptLedger, poisonLimit } from "./attempt-ledger.ts";
import { uncarryError } from "./carried-error.ts";
import { type DurableFunction, wrapDurableFunction } from "./durable-function.ts";
import { GatedNetwork } from "./gated-network.ts";
import { HumanInputs, type PendingInput } from "./human-input.ts";
import {
  EXECUTION_KIND,
  type Listing,
  list,
  type ShowView,
  show,
  type TreeNode,
  tree,
} from "./inspect.ts";
import { LeaseKeeper } from "./lease-keeper.ts";
import { type NamedSession, NamedSessions } from "./named-sessions.ts";
import { createRemoteNetwork, resolveRemoteUrl } from "./remote.ts";
import { capsuleLogger } from "./sdk-logger.ts";
import { SessionScopes } from "./session-scope.ts";
import { type Durability, EmbeddedNetwork, type EmbeddedNetworkOptions } from "./store/index.ts";

export interface CapsuleOptions {
  /** The Resonate SDK's log level (its JSON lines on stdout/stderr). Default "warn". */
  logLevel?: LogLevel;
  /** Local mode: directory of Capsule's state; the store lives in `{dir}/store`. Default ".capsule". */
  dir?: string;
  /** Remote mode: a Resonate server's URL (default: env `RESONATE_URL`; unset = local mode). */
  url?: string;
  /** Remote mode: bearer token (default: env `RESONATE_TOKEN`). */
  token?: string;
  /** Worker group this process joins. Default "default". */
  group?: string;
  /** This process's id for the SDK. Default: a random one. */
  pid?: string;
  /** Options of the session pool that runs the cells (limits, permissions, sizes…). */
  pool?: PoolOptions;
  /** Lease of a task this process runs, ms (the SDK's ttl; default 60 000). */
  leaseMs?: number;
  /**
   * A Resonate network to use instead of the embedded store or `url` (e.g. the SDK's
   * in-memory `LocalNetwork` for tests and benchmarks: nothing survives the process).
   * Pass the network's own pid as `pid` when it has one.
   */
  network?: Network;
  /**
   * A durable execute step whose attempts ended with this (orchestrating) process gone
   * this many times is recorded as failed with PoisonCellError (`POISON_CELL`) instead
   * of being run again on every restart. Default 3; `Infinity` retries for ever.
   */
  poisonAfterKills?: number;
  /**
   * Local mode: what an acknowledged step survives. `"process"` (default): any crash of
   * this process; a power loss may make the last steps run again (never a half-applied
   * record). `"machine"`: also a power loss, at one fsync per (group) commit. See the
   * README's durability paragraph.
   */
  durability?: Durability;
  /** Local mode: options of the embedded store (`store.durability` is `durability`). */
  store?: Pick<
    EmbeddedNetworkOptions,
    "durability" | "maxSizeBytes" | "tickIntervalMs" | "onFatal" | "now"
  >;
}

/**
 * A handle to one durable execution; its id is the idempotency key. `result()` rejects
 * with the Capsule error class and `code` the execution ended with.
 */
export type DurableHandle<R> = ResonateHandle<R>;

function withCapsuleErrors<R>(handle: ResonateHandle<R>): DurableHandle<R> {
  return {
    id: handle.id,
    done: () => handle.done(),
    result: () =>
      handle.result().catch((reason: unknown) => {
        throw uncarryError(reason);
      }),
  };
}

/** A registered durable function. */
export interface RegisteredFunction<Args extends unknown[], R> {
  readonly name: string;
  /** Starts (or, for an id that exists, rejoins) the execution `id` in this process. */
  run(id: string, ...args: Args): Promise<DurableHandle<R>>;
}

export class Capsule {
  /** "local" (embedded store), "remote" (Resonate server) or "custom" (`network` option). */
  readonly mode: "local" | "remote" | "custom";
  /** The store directory (local mode) or server URL (remote mode). */
  readonly location: string;
  readonly pid: string;
  /** The pool the cells run in. */
  readonly pool: SessionPool;
  readonly #resonate: Resonate;
  readonly #gate: GatedNetwork;
  readonly #close: () => Promise<void>;
  readonly #scopes: SessionScopes;
  readonly #named: NamedSessions;
  readonly #attempts: AttemptLedger;
  readonly #inputs: HumanInputs;
  #closing: Promise<void> | undefined;

  private constructor(parts: {
    mode: "local" | "remote" | "custom";
    location: string;
    pid: string;
    network: Network;
    close: () => Promise<void>;
    options: CapsuleOptions;
  }) {
    this.mode = parts.mode;
    this.location = parts.location;
    this.pid = parts.pid;
    this.#close = parts.close;
    this.#gate = new GatedNetwork(parts.network);
    this.#resonate = new Resonate({
      network: this.#gate,
      pid: parts.pid,
      logger: capsuleLogger(parts.options.logLevel),
      ...(parts.options.group === undefined ? {} : { group: parts.options.group }),
      ...(parts.options.leaseMs === undefined ? {} : { ttl: parts.options.leaseMs }),
    });
    // A durable session depends on checkpoints after every cell.
    this.pool = new SessionPool({ ...parts.options.pool, checkpoint: true });
    this.#scopes = new SessionScopes(this.pool);
    // Work delivered before the gate opens was recovered from the store: its worker starts
    // now, overlapping the rest of start-up and the replay (the gate holds the message).
    parts.network.recv((message) => {
      if (!this.#gate.isOpen && message.kind === "execute") this.#scopes.expectResume();
    });
    this.#attempts = new AttemptLedger({
      send: this.#gate.send,
      promises: this.#resonate.promises,
      ...(parts.options.poisonAfterKills === undefined
        ? {}
        : { poisonAfterKills: parts.options.poisonAfterKills }),
    });
    this.#inputs = new HumanInputs({ send: this.#gate.send, promises: this.#resonate.promises });
    this.#named = new NamedSessions({
      resonate: this.#resonate,
      send: this.#gate.send,
      pool: this.pool,
      beforeFirstCell: () => this.recover(),
    });
  }

  /**
   * Opens Capsule in local mode (embedded store in `dir`) or, with `url` or env
   * `RESONATE_URL`, in remote mode.
   * @throws StoreLockedError (STORE_LOCKED) when another process owns the store.
   * @throws RangeError for a `poisonAfterKills` that is not a positive integer or Infinity.
   */
  static async open(options: CapsuleOptions = {}): Promise<Capsule> {
    // Before the store is opened (and locked): a bad option must not leave it held.
    poisonLimit(options.poisonAfterKills);
    // The first worker start waits for this one-time bubblewrap probe (a child process):
    // run it while the store opens, so that a recovered execution's worker is spawned
    // as soon as the store hands over its work, not after a round trip the loop may be
    // too busy replaying to notice.
    if (options.pool?.sandbox !== "permissions-only") void probeSandbox();
    const custom = options.network;
    if (custom !== undefined) {
      return new Capsule({
        mode: "custom",
        location: custom.unicast,
        pid: options.pid ?? randomUUID().replace(/-/g, ""),
        network: custom,
        close: () => custom.stop(),
        options,
      });
    }
    const url = resolveRemoteUrl(options.url);
    if (url !== undefined) {
      const remote = createRemoteNetwork({
        url,
        ...(options.group === undefined ? {} : { group: options.group }),
        ...(options.pid === undefined ? {} : { pid: options.pid }),
        ...(options.token === undefined ? {} : { token: options.token }),
      });
      // The SDK does not heartbeat tasks it started with run(); keep their leases here.
      const network = new LeaseKeeper(remote.network, remote.pid, options.leaseMs ?? 60_000);
      return new Capsule({
        mode: "remote",
        location: url,
        pid: remote.pid,
        network,
        close: () => network.stop(),
        options,
      });
    }
    const dir = path.join(options.dir ?? ".capsule", "store");
    const network = EmbeddedNetwork.open({
      dir,
      ...options.store,
      ...(options.durability === undefined ? {} : { durability: options.durability }),
      ...(options.pid === undefined ? {} : { pid: options.pid }),
      ...(options.group === undefined ? {} : { group: options.group }),
    });
    return new Capsule({
      mode: "local",
      location: dir,
      pid: network.pid,
      network,
      close: () => network.close(),
      options,
    });
  }

  /**
   * Registers a durable function. Register every function right after `open` (before
   * awaiting anything else): recovery of interrupted executions starts on the next
   * event-loop turn after the first registration.
   */
  register<Args extends unknown[], R>(
    name: string,
    func: DurableFunction<Args, R>,
  ): RegisteredFunction<Args, R> {
    this.#resonate.register(
      name,
      wrapDurableFunction(func, this.#scopes, this.#attempts, this.#inputs),
    );
    if (!this.#gate.isOpen) setImmediate(() => this.recover());
    return {
      name,
      run: async (id, ...args) =>
        withCapsuleErrors(
          await this.#resonate.run<R>(
            id,
            name,
            ...args,
            this.#resonate.options({ tags: { "capsule:kind": EXECUTION_KIND } }),
          ),
        ),
    };
  }

  /** A handle to the existing execution `id`. */
  async get<R = unknown>(id: string): Promise<DurableHandle<R>> {
    return withCapsuleErrors(await this.#resonate.get<R>(id));
  }

  /** Starts recovery of interrupted executions now (idempotent; `register` does it too). */
  recover(): void {
    this.#gate.open();
  }

  /** Resolve, reject or read durable promises, e.g. one a function waits on with `ctx.promise()`. */
  get promises(): Resonate["promises"] {
    return this.#resonate.promises;
  }

  /** Questions (`input()` in durable cells) waiting for an answer, oldest first. */
  inputs(): Promise<PendingInput[]> {
    return this.#inputs.list();
  }

  /**
   * Answers the question `id` (from `inputs()`); the cell waiting on it goes on, here or
   * in whichever process runs it after a restart.
   * @throws InputError INPUT_NOT_PENDING (no such question, or it timed out) or
   *   INPUT_ALREADY_ANSWERED (the first answer stands).
   */
  answer(id: string, value: string): Promise<void> {
    return this.#inputs.answer(id, value);
  }

  /** The named durable session `name`, usable outside a durable function. */
  session(name: string): NamedSession {
    return this.#named.session(name);
  }

  /** Executions and named sessions in the store. */
  list(): Promise<Listing> {
    return list(this.#gate.send);
  }

  /** The cells (code, output, result or error) of an execution or named session, in order. */
  show(id: string): Promise<ShowView> {
    return show(this.#gate.send, id);
  }

  /** The call graph of an execution's durable promises, with their states. */
  tree(id: string): Promise<TreeNode> {
    return tree(this.#gate.send, id);
  }

  /**
   * Stops taking work, closes the store (releasing its lock) and the session pool.
   * A cell still running is not recorded: it runs again on the next start.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#inputs.close();
    await this.#resonate.stop();
    // The store closes before the pool, so a cell killed by the pool's shutdown
    // cannot have its failure recorded.
    await this.#close();
    this.#scopes.releaseAll();
    this.#named.releaseAll();
    await this.pool.close();
  }
}
