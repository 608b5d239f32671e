/**
 * Streaming and input: a session streams a cell's output while the cell runs (each chunk
 * is printed with the time it arrived, before the result), and a cell's `input()` calls
 * are answered by the host through `onInput` — here from a scripted list of answers, so
 * the example needs no keyboard.
 */
import { SessionPool } from "../src/index.ts";

const pool = new SessionPool({ minIdle: 0, maxSessions: 1 });
try {
  const session = await pool.acquire();
  try {
    console.log("Capsule: streaming output and input()\n");

    console.log("1. a cell that prints a line every 100 ms; each line is shown as it arrives:");
    const started = performance.now();
    const since = () => `+${Math.round(performance.now() - started)} ms`.padStart(9);
    const ticking = await session.execute(
      `for (let i = 1; i <= 5; i++) {
  console.log("tick " + i);
  if (i === 3) console.error("(a line on stderr)");
  await new Promise((resolve) => setTimeout(resolve, 100));
}
"done ticking"`,
      {
        onOutput: (chunk) => {
          process.stdout.write(`   [${since()}] ${chunk.stream}: ${chunk.data}`);
        },
      },
    );
    console.log(`   [${since()}] result: ${ticking.display} (mode ${ticking.mode})\n`);

    console.log("2. a cell that asks questions with input(); the host answers them:");
    const answers = new Map([
      ["Your name? ", "Ada"],
      ["Favourite number? ", "42"],
    ]);
    const asked = await session.execute(
      `const name = input("Your name? ");
const favourite = Number(input("Favourite number? "));
console.log("thanks, " + name);
({ name, favourite, doubled: favourite * 2 })`,
      {
        onOutput: (chunk) => process.stdout.write(`   output: ${chunk.data}`),
        onInput: (prompt) => {
          const answer = answers.get(prompt) ?? "";
          console.log(`   input(${JSON.stringify(prompt)}) → answered ${JSON.stringify(answer)}`);
          return answer;
        },
      },
    );
    console.log(`   result: ${asked.display} (mode ${asked.mode})\n`);

    console.log("3. the answers stay in the namespace for the next cell:");
    const next = await session.execute('name + " likes " + favourite');
    console.log(`   result: ${next.display}`);
  } finally {
    session.release();
  }
} finally {
  await pool.close();
}
