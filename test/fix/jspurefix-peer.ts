/**
 * jspurefix (a FIX engine nobody on this team wrote) as the counterparty of our FIX
 * session in tests: an acceptor listening on 127.0.0.1 port 0, or an initiator.
 *
 * Its sequence numbers and sent messages live in a jspurefix file store (QuickFIX
 * format) in `storeDir`, so it keeps them across our side's crashes and reconnections,
 * as a real counterparty does. Everything it encodes or decodes is recorded (with `|`
 * for SOH) so tests wait for the exact messages they expect instead of sleeping.
 */
import type { AddressInfo, Server } from "node:net";
import "reflect-metadata";
import {
  AsciiSession,
  type IJsFixConfig,
  type ISessionDescription,
  JsFixWinstonLogFactory,
  type MsgView,
  SessionLauncher,
  WinstonLogger,
} from "jspurefix";

export interface PeerOptions {
  role: "acceptor" | "initiator";
  senderCompId: string;
  targetCompId: string;
  /** Initiator: the port to connect to. Acceptor: ignored (port 0). */
  port?: number;
  heartBtInt: number;
  storeDir: string;
  /** Answer each NewOrderSingle with a fill (ExecutionReport, a fresh ExecID). */
  autoFill?: boolean;
}

/** One message as jspurefix saw it: its direction, type, and fields by tag. */
export interface PeerMessage {
  direction: "in" | "out";
  msgType: string;
  fields: Map<number, string>;
  text: string;
}

type Waiter = { where: (m: PeerMessage) => boolean; resolve: (m: PeerMessage) => void };

function parseText(text: string): Map<number, string> {
  const fields = new Map<number, string>();
  for (const part of text.replaceAll("\u0001", "|").split("|")) {
    const eq = part.indexOf("=");
    if (eq > 0 && !fields.has(Number(part.slice(0, eq)))) {
      fields.set(Number(part.slice(0, eq)), part.slice(eq + 1));
    }
  }
  return fields;
}

export class JspurefixPeer {
  readonly messages: PeerMessage[] = [];
  readonly #waiters: Waiter[] = [];
  readonly #launcher: PeerLauncher;
  #session: PeerSession | undefined;
  readonly #done: Promise<boolean>;

  private constructor(options: PeerOptions) {
    this.#launcher = new PeerLauncher(options, this);
    this.#done = this.#launcher.run().catch(() => false);
  }

  /** Starts the peer; an acceptor resolves once it listens (see `port`). */
  static async start(options: PeerOptions): Promise<JspurefixPeer> {
    const peer = new JspurefixPeer(options);
    if (options.role === "acceptor") await peer.#launcher.listening();
    return peer;
  }

  get port(): number {
    return this.#launcher.port();
  }

  /** @internal called by the session */
  record(direction: "in" | "out", msgType: string, txt: string): void {
    const message: PeerMessage = { direction, msgType, fields: parseText(txt), text: txt };
    this.messages.push(message);
    for (const waiter of [...this.#waiters]) {
      if (waiter.where(message)) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(message);
      }
    }
  }

  /** @internal */
  attach(session: PeerSession): void {
    this.#session = session;
  }

  /** The first message (seen so far or later) matching `where`, from index `from` on. */
  next(where: (m: PeerMessage) => boolean, from = 0): Promise<PeerMessage> {
    const seen = this.messages.slice(from).find(where);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve) => this.#waiters.push({ where, resolve }));
  }

  /** Sends an application message (jspurefix fills in the header). */
  send(msgType: string, body: Record<string, unknown>): void {
    if (this.#session === undefined) throw new Error("jspurefix peer has no session yet");
    this.#session.sendApp(msgType, body);
  }

  /** Stops the engine and waits until its sockets are closed. */
  async stop(): Promise<void> {
    this.#launcher.stop();
    this.#session?.end();
    await this.#done;
  }
}

class PeerSession extends AsciiSession {
  readonly #peer: JspurefixPeer;

  readonly #autoFill: boolean;
  #fills = 0;

  constructor(config: IJsFixConfig, peer: JspurefixPeer, autoFill: boolean) {
    super(config);
    this.#peer = peer;
    this.#autoFill = autoFill;
    peer.attach(this);
  }

  sendApp(msgType: string, body: Record<string, unknown>): void {
    this.send(msgType, body);
  }

  end(): void {
    this.done();
  }

  protected override onApplicationMsg(msgType: string, view: MsgView): void {
    if (!this.#autoFill || msgType !== "D") return;
    const order = view.toObject() as Record<string, unknown>;
    const fill = ++this.#fills;
    this.send("8", {
      OrderID: `JS-${fill}`,
      ClOrdID: order.ClOrdID,
      ExecID: `JSX-${fill}`,
      ExecTransType: "0",
      ExecType: "2",
      OrdStatus: "2",
      Symbol: order.Symbol,
      Side: order.Side,
      OrderQty: order.OrderQty,
      LeavesQty: 0,
      CumQty: order.OrderQty,
      AvgPx: 100,
    });
  }
  protected override onReady(_view: MsgView): void {}
  protected override onStopped(_error?: Error): void {}
  protected override onLogon(_view: MsgView, _user: string, _password: string): boolean {
    return true;
  }
  protected override onDecoded(msgType: string, txt: string): void {
    this.#peer.record("in", msgType, txt);
  }
  protected override onEncoded(msgType: string, txt: string): void {
    this.#peer.record("out", msgType, txt);
  }
}

class PeerLauncher extends SessionLauncher {
  readonly #peer: JspurefixPeer;
  readonly #autoFill: boolean;

  constructor(options: PeerOptions, peer: JspurefixPeer) {
    const description = {
      application: {
        type: options.role,
        name: `jspurefix-${options.role}`,
        reconnectSeconds: 1,
        tcp: { host: "127.0.0.1", port: options.role === "acceptor" ? 0 : (options.port ?? 0) },
        protocol: "ascii",
        dictionary: "qf42",
      },
      Username: "peer",
      Password: "peer",
      EncryptMethod: 0,
      ResetSeqNumFlag: false,
      HeartBtInt: options.heartBtInt,
      SenderCompId: options.senderCompId,
      TargetCompID: options.targetCompId,
      BeginString: "FIX.4.2",
      store: { type: "file", directory: options.storeDir },
    };
    // jspurefix logs every dropped connection as an error, and these tests drop many on
    // purpose: silent unless FIX_PEER_LOG=1 (to see its side of a failing test).
    const quiet = new JsFixWinstonLogFactory({
      ...WinstonLogger.consoleOptions("warn"),
      silent: process.env.FIX_PEER_LOG !== "1",
    });
    const asAcceptor = options.role === "acceptor";
    super(
      asAcceptor ? null : (description as unknown as ISessionDescription),
      asAcceptor ? (description as unknown as ISessionDescription) : null,
      quiet,
    );
    this.#peer = peer;
    this.#autoFill = options.autoFill === true;
  }

  protected override makeFactory(_config: IJsFixConfig) {
    return {
      makeSession: (config: IJsFixConfig) => new PeerSession(config, this.#peer, this.#autoFill),
    };
  }

  #server(): Server | undefined {
    // jspurefix keeps its listening server private; tests need the port it bound.
    const entity = Reflect.get(this, "acceptorEntity") as { acceptor?: { server?: Server } } | null;
    return entity?.acceptor?.server;
  }

  async listening(): Promise<void> {
    for (;;) {
      const server = this.#server();
      if (server?.listening) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  port(): number {
    const address = this.#server()?.address();
    if (address === undefined || address === null || typeof address === "string") {
      throw new Error("jspurefix acceptor is not listening");
    }
    return (address as AddressInfo).port;
  }
}
