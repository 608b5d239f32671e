/**
 * No network unless granted: fetch, TCP and UDP to a server of the test's own on
 * 127.0.0.1 fail in a cell by default, with an error naming the option, and work with
 * `permissions.net: true` — in the sandbox and with the permission model alone.
 */
import dgram from "node:dgram";
import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSession } from "./helpers.ts";
import { SANDBOX_MODES } from "./sandbox-modes.ts";

let httpServer: http.Server;
let tcpServer: net.Server;
let udp: dgram.Socket;
let ports: { http: number; tcp: number; udp: number };

beforeAll(async () => {
  httpServer = http.createServer((_request, response) => response.end("pong"));
  tcpServer = net.createServer((socket) => socket.end("hello over tcp"));
  udp = dgram.createSocket("udp4");
  await Promise.all([
    new Promise<void>((resolve) => httpServer.listen(0, "127.0.0.1", resolve)),
    new Promise<void>((resolve) => tcpServer.listen(0, "127.0.0.1", resolve)),
    new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve)),
  ]);
  ports = {
    http: (httpServer.address() as AddressInfo).port,
    tcp: (tcpServer.address() as AddressInfo).port,
    udp: udp.address().port,
  };
});

afterAll(async () => {
  udp.close();
  await Promise.all([
    new Promise((resolve) => httpServer.close(resolve)),
    new Promise((resolve) => tcpServer.close(resolve)),
  ]);
});

const fetchCell = () => `await (await fetch("http://127.0.0.1:${ports.http}/")).text()`;
const tcpCell = () => `await new Promise((resolve, reject) => {
  const socket = require("node:net").connect(${ports.tcp}, "127.0.0.1");
  let data = "";
  socket.on("data", (chunk) => { data += chunk; });
  socket.on("end", () => resolve(data));
  socket.on("error", reject);
})`;
const udpCell = (text: string) => `await new Promise((resolve, reject) => {
  const socket = require("node:dgram").createSocket("udp4");
  socket.on("error", reject);
  socket.send(${JSON.stringify(text)}, ${ports.udp}, "127.0.0.1", (error) => {
    socket.close();
    error ? reject(error) : resolve("sent");
  });
})`;
const dnsCell = `await require("node:dns").promises.lookup("localhost")`;

const namesTheOption = {
  code: "EXECUTION_ERROR",
  message: expect.stringContaining("permissions.net"),
};

for (const { sandbox, skip } of SANDBOX_MODES) {
  describe.skipIf(skip)(`network (sandbox: ${sandbox})`, () => {
    it("denies fetch, TCP, UDP and DNS by default, with an error naming permissions.net", async () => {
      const session = await startSession({ sandbox });
      await expect(session.execute(fetchCell())).rejects.toMatchObject(namesTheOption);
      await expect(session.execute(tcpCell())).rejects.toMatchObject(namesTheOption);
      await expect(session.execute(udpCell("denied"))).rejects.toMatchObject(namesTheOption);
      await expect(session.execute(dnsCell)).rejects.toMatchObject(namesTheOption);
      // The realm is intact after the denials: the session goes on.
      expect((await session.execute("6 * 7")).value).toBe(42);
    });

    it("allows fetch, TCP and UDP with permissions.net: true", async () => {
      const session = await startSession({ sandbox, permissions: { net: true } });
      expect((await session.execute(fetchCell())).value).toBe("pong");
      expect((await session.execute(tcpCell())).value).toBe("hello over tcp");
      const received = once(udp, "message") as Promise<[Buffer]>;
      expect((await session.execute(udpCell("datagram"))).value).toBe("sent");
      expect(String((await received)[0])).toBe("datagram");
    });
  });
}
