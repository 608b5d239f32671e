/**
 * What a FIX message costs on the durable layer: `npx node test/fix/bench.ts [N]`.
 * 1. storing N outbound messages (two durable-promise writes each) while disconnected;
 * 2. loading the sequence state back after a restart (O(log N) reads);
 * 3. N NewOrderSingles stored and delivered to jspurefix over 127.0.0.1.
 */
import { MsgType } from "../../examples/fix/codec.ts";
import { FixInitiator } from "../../examples/fix/initiator.ts";
import { openSession } from "../../examples/fix/open-session.ts";
import { openCapsule, orderFields, removeDir, startPeer, tempDir } from "./harness.ts";

const N = Number(process.argv[2] ?? 500);
{
  const dir = tempDir("bench-store");
  const capsule = await openCapsule(dir);
  const session = await openSession(capsule, {
    role: "initiator",
    senderCompId: "BUY",
    targetCompId: "SELL",
    heartBtInt: 30,
  });
  const t = performance.now();
  for (let i = 0; i < N; i++)
    await session.sendApplication(MsgType.NewOrderSingle, orderFields(`s-${i}`));
  const ms = performance.now() - t;
  console.log(
    `store: ${N} outbound messages stored in ${ms.toFixed(0)} ms = ${(ms / N).toFixed(2)} ms/message`,
  );
  await capsule.close();
  const capsule2 = await openCapsule(dir);
  const t2 = performance.now();
  const again = await openSession(capsule2, {
    role: "initiator",
    senderCompId: "BUY",
    targetCompId: "SELL",
    heartBtInt: 30,
  });
  console.log(
    `restart: sequence state of ${N} stored messages loaded in ${(performance.now() - t2).toFixed(1)} ms (nextOut ${again.sequence.nextOut})`,
  );
  await capsule2.close();
  removeDir(dir);
}
{
  const peerDir = tempDir("bench-peer");
  const peer = await startPeer({
    role: "acceptor",
    senderCompId: "SELL",
    targetCompId: "BUY",
    heartBtInt: 30,
    storeDir: peerDir,
  });
  const dir = tempDir("bench-e2e");
  const capsule = await openCapsule(dir);
  const session = await openSession(capsule, {
    role: "initiator",
    senderCompId: "BUY",
    targetCompId: "SELL",
    heartBtInt: 30,
  });
  const initiator = new FixInitiator(session, { port: peer.port });
  const running = initiator.run();
  await peer.next((m) => m.direction === "out" && m.msgType === "A");
  const t = performance.now();
  for (let i = 0; i < N; i++)
    void session.sendApplication(MsgType.NewOrderSingle, orderFields(`e-${i}`));
  await peer.next((m) => m.direction === "in" && m.fields.get(11) === `e-${N - 1}`);
  const ms = performance.now() - t;
  console.log(
    `end to end: ${N} NewOrderSingles stored and received by jspurefix in ${ms.toFixed(0)} ms = ${(N / (ms / 1000)).toFixed(0)} messages/s`,
  );
  await initiator.stop();
  await running;
  await peer.stop();
  await capsule.close();
  removeDir(dir);
  removeDir(peerDir);
}
