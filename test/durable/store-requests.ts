// Small helpers for tests that talk to an EmbeddedNetwork with raw protocol requests.

export function head(): { corrId: string; version: string } {
  return { corrId: crypto.randomUUID(), version: "2026-04-01" };
}

/** The payload of a successful response; throws with the status and message otherwise. */
export function payload<T>(response: { head: { status: number }; data: T | string }): T {
  if (typeof response.data === "string") {
    throw new Error(`request failed with ${response.head.status}: ${response.data}`);
  }
  return response.data;
}
