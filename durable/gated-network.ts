/**
 * A Network wrapper that holds back `execute` messages until it is opened.
 *
 * A store delivers recovered work as soon as a Resonate instance subscribes; the SDK
 * fails an `execute` for a function that is not registered yet and releases the task,
 * which the store dispatches again at once. Capsule.open is async, so user code cannot
 * register before the subscription: the gate keeps `execute` messages until the first
 * `register` (or `recover()`) and then delivers them in order. `unblock` messages (the
 * results handles wait for) always pass.
 */
import type { Message, Network } from "@resonatehq/sdk";

export class GatedNetwork implements Network {
  readonly inner: Network;
  #open = false;
  readonly #held: Message[] = [];
  readonly #subscribers: ((message: Message) => void)[] = [];

  constructor(inner: Network) {
    this.inner = inner;
    this.send = inner.send;
    inner.recv((message) => this.#deliver(message));
  }

  readonly send: Network["send"];

  get unicast(): string {
    return this.inner.unicast;
  }

  get anycast(): string {
    return this.inner.anycast;
  }

  get isOpen(): boolean {
    return this.#open;
  }

  match(target: string): string {
    return this.inner.match(target);
  }

  init(): Promise<void> {
    return this.inner.init();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  recv(callback: (message: Message) => void): void {
    this.#subscribers.push(callback);
  }

  /** Delivers the held messages, in order, and every later one directly. */
  open(): void {
    if (this.#open) return;
    this.#open = true;
    for (const message of this.#held.splice(0)) this.#publish(message);
  }

  #deliver(message: Message): void {
    if (!this.#open && message.kind === "execute") this.#held.push(message);
    else this.#publish(message);
  }

  #publish(message: Message): void {
    for (const subscriber of this.#subscribers) subscriber(message);
  }
}
