/** Binds a FixSession to a TCP socket: bytes in to the parser, messages out to the socket. */
import type net from "node:net";
import type { FixSession, Transport } from "./session.ts";

/**
 * Connects `session` to `socket` and resolves when the Logon exchange completes;
 * rejects (FIX_SESSION_ENDED) if the connection ends first. `initial` is data already
 * read from the socket (the acceptor reads the first message to find the session).
 */
export function bindSocket(
  session: FixSession,
  socket: net.Socket,
  initial?: Buffer,
): Promise<void> {
  socket.setNoDelay(true);
  let reason = "connection closed";
  const transport: Transport = {
    write: (raw) => {
      socket.write(raw);
    },
    close: () => {
      socket.end();
      // The peer may not close its side; do not keep a half-open socket.
      socket.once("finish", () => socket.destroy());
    },
  };
  socket.on("error", (error) => {
    reason = `connection error: ${error.message}`;
  });
  socket.on("close", () => session.disconnected(reason));
  const loggedOn = session.connect(transport);
  socket.on("data", (chunk: Buffer) => session.receiveBytes(chunk));
  if (initial !== undefined && initial.length > 0) session.receiveBytes(initial);
  return loggedOn;
}
