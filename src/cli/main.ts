/**
 * `capsule`: the command line of Capsule (argument parsing with commander; each command
 * lives in its own file). Run it through the `capsule` launcher next to this file, which
 * picks the project's Node 26.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { kernelCommand } from "../kernel/command.ts";
import { installKernel } from "../kernel/install.ts";
import { execCommand, readCell } from "./exec.ts";
import { EXIT, EXIT_CODES_HELP, exitCodeOf } from "./exit-codes.ts";
import { errorText } from "./format.ts";
import { answerCommand, inputsCommand } from "./inputs.ts";
import { listCommand, showCommand, treeCommand } from "./inspect-commands.ts";
import { replCommand } from "./repl.ts";
import { serveCommand } from "./serve.ts";
import { workerCommand } from "./worker.ts";

interface CommonOptions {
  dir?: string;
  url?: string;
  token?: string;
  json?: boolean;
  verbose?: boolean;
}

let verbose = process.argv.includes("--verbose");

// A reader that stops early (`capsule ls | head`) closes stdout under us. Node ignores
// SIGPIPE, so the next write fails with EPIPE instead: end at once and quietly, as a
// process SIGPIPE ends does, rather than with a stack trace. Workers end with their host.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(EXIT.brokenPipe);
});

/** Prints the one-line error and sets the exit code scripts rely on. */
function fail(error: unknown): void {
  process.stderr.write(`capsule: ${errorText(error, verbose)}\n`);
  process.exitCode = exitCodeOf(error);
}

function milliseconds(value: string): number {
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms <= 0) {
    throw new InvalidArgumentError("expected a positive whole number of milliseconds");
  }
  return ms;
}

function common(command: Command, json: boolean): Command {
  command
    .addOption(
      new Option("--dir <path>", "store directory (default: $CAPSULE_DIR or .capsule)").env(
        "CAPSULE_DIR",
      ),
    )
    .option("--verbose", "print stack traces and causes with errors")
    .addHelpText("after", EXIT_CODES_HELP);
  if (json) command.option("--json", "print JSON instead of text");
  return command;
}

function action<A extends unknown[]>(
  run: (...args: A) => Promise<unknown>,
): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      const error = await run(...args);
      if (error !== undefined) fail(error);
    } catch (error) {
      // Usage errors raised in an action (commander already printed them) end the parse.
      if (error instanceof CommanderError) throw error;
      fail(error);
    }
  };
}

/** The read commands ask a server (`capsule serve` or Resonate) instead of `--dir`. */
function server(command: Command): Command {
  return command
    .addOption(
      new Option("--url <url>", "a server's URL instead of --dir's store").env("RESONATE_URL"),
    )
    .addOption(new Option("--token <token>", "the server's bearer token").env("RESONATE_TOKEN"));
}

const program = new Command("capsule")
  .description("Run JavaScript/TypeScript cells in isolated, durable sessions.")
  .showHelpAfterError("(run with --help for usage)")
  .addHelpText("after", EXIT_CODES_HELP)
  .exitOverride();

common(
  program
    .command("exec")
    .description("run one cell and print its result")
    .argument("<code>", 'the cell\'s source, or "-" to read it from stdin')
    .option(
      "-s, --session <name>",
      "run as the next cell of this durable session (its namespace persists in the store)",
    )
    .option("--timeout <ms>", "time limit of the cell", milliseconds),
  true,
).action(
  action(async (code: string, options: CommonOptions & { session?: string; timeout?: number }) => {
    verbose = options.verbose === true;
    const cell = await readCell(code);
    if (cell.trim() === "") {
      program.error("capsule exec: the cell is empty", { exitCode: EXIT.usage });
    }
    return execCommand(cell, options);
  }),
);

common(
  program
    .command("repl")
    .description(
      "interactive durable REPL: restart it with the same --session to get the namespace back",
    )
    .option("-s, --session <name>", "durable session name (default: a new repl-<time> name)")
    .option("--timeout <ms>", "time limit of each cell", milliseconds),
  false,
).action(
  action((options: CommonOptions & { session?: string; timeout?: number }) => {
    verbose = options.verbose === true;
    return replCommand(options);
  }),
);

common(
  server(program.command("ls").description("list durable executions and named sessions")),
  true,
).action(action((options: CommonOptions) => listCommand(options)));

common(
  server(
    program
      .command("show")
      .description("cells (code, output, result or error) of an execution or session, in order")
      .argument("<id>", "execution id, session name, or session/<name>"),
  ),
  true,
).action(action((id: string, options: CommonOptions) => showCommand(id, options)));

common(
  server(
    program
      .command("tree")
      .description("call graph of an execution's durable promises with their states")
      .argument("<id>", "execution id (e.g. job-1, or session/<name>/<n> for one session cell)"),
  ),
  true,
).action(action((id: string, options: CommonOptions) => treeCommand(id, options)));

common(
  server(
    program
      .command("inputs")
      .description("questions (input() in durable cells) waiting for an answer"),
  ),
  true,
).action(action((options: CommonOptions) => inputsCommand(options)));

common(
  server(
    program
      .command("answer")
      .description("answer a waiting question; the first answer wins")
      .argument("<id>", "the question's id, as `capsule inputs` lists it")
      .argument("<value>", "the answer (a string)"),
  ),
  false,
).action(
  action((id: string, value: string, options: CommonOptions) => answerCommand(id, value, options)),
);

function port(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65_535) {
    throw new InvalidArgumentError("expected a port number (0 picks a free one)");
  }
  return number;
}

common(
  program
    .command("serve")
    .description(
      "serve the store over the Resonate HTTP protocol, for processes in remote mode (RESONATE_URL)",
    )
    .option("--host <address>", "address to listen on (default: 127.0.0.1)")
    .option("--port <number>", "port to listen on (default: 8001; 0 picks a free one)", port)
    .addOption(new Option("--token <token>", "require this bearer token").env("RESONATE_TOKEN"))
    .option("--debug", "answer debug.* requests (reset, tick, snap); never on a shared server"),
  false,
).action(
  action(
    (
      options: CommonOptions & { host?: string; port?: number; token?: string; debug?: boolean },
    ) => {
      verbose = options.verbose === true;
      return serveCommand(options);
    },
  ),
);

function positive(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) {
    throw new InvalidArgumentError("expected a positive whole number");
  }
  return number;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

common(
  program
    .command("worker")
    .description(
      "join a Resonate worker group and run the cells of ctx.session(name, { group }) sessions",
    )
    .addOption(
      new Option("--url <url>", "the Resonate server (or capsule serve)").env("RESONATE_URL"),
    )
    .option("--group <name>", "worker group to join (default: cells)")
    .option("--concurrency <n>", "cells run at once (default: the CPUs)", positive)
    .addOption(new Option("--token <token>", "bearer token").env("RESONATE_TOKEN"))
    .option(
      "--lease <ms>",
      "lease of a running cell; after a crash it moves on once this runs out (default 10000)",
      milliseconds,
    )
    .option("--allow-fs-read <path>", "cells may read this path (repeatable)", collect)
    .option("--allow-fs-write <path>", "cells may write this path (repeatable)", collect),
  false,
).action(
  action(
    (
      options: CommonOptions & {
        url?: string;
        group?: string;
        concurrency?: number;
        token?: string;
        lease?: number;
        allowFsRead?: string[];
        allowFsWrite?: string[];
      },
    ) => {
      verbose = options.verbose === true;
      const { lease, ...rest } = options;
      return workerCommand({ ...rest, ...(lease === undefined ? {} : { leaseMs: lease }) });
    },
  ),
);

const kernel = common(
  program
    .command("kernel")
    .description(
      "a Jupyter kernel whose namespace is a durable session (started by Jupyter with -f)",
    )
    .option("-f, --connection-file <file>", "the connection file Jupyter wrote")
    .option("--timeout <ms>", "time limit of each cell", milliseconds),
  false,
).action(
  action((options: CommonOptions & { connectionFile?: string; timeout?: number }) => {
    verbose = options.verbose === true;
    const connectionFile = options.connectionFile;
    if (connectionFile === undefined) {
      return program.error("capsule kernel: -f <connection file> is required (Jupyter passes it)", {
        exitCode: EXIT.usage,
      });
    }
    return kernelCommand({ ...options, connectionFile });
  }),
);

common(
  kernel
    .command("install")
    .description("write the kernelspec so Jupyter lists the Capsule kernel (default: --user)")
    .option("--user", "in the user's Jupyter data directory")
    .option("--sys-prefix", "in the active Python environment (VIRTUAL_ENV or CONDA_PREFIX)")
    .option("--prefix <path>", "in <path>/share/jupyter/kernels")
    .option("--name <name>", "kernelspec name (default: capsule)"),
  false,
).action(
  action(
    async (
      options: CommonOptions & {
        user?: boolean;
        sysPrefix?: boolean;
        prefix?: string;
        name?: string;
      },
    ) => {
      verbose = options.verbose === true;
      const dir = installKernel(options);
      process.stdout.write(`installed kernelspec ${options.name ?? "capsule"} in ${dir}\n`);
    },
  ),
);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (!(error instanceof CommanderError)) throw error;
  // Commander printed the message; help and version are successes.
  process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
}
