#!/usr/bin/env node
/**
 * The `stade` command. The main thread parses the command line (usage errors exit with code 2 at once),
 * then runs the command in a worker thread so that Ctrl-C is handled immediately even in the middle of a
 * long synchronous computation: the worker is terminated, every temporary file or folder it announced is
 * removed, and the process exits with code 130. Errors print one line `stade: error: ...` (exit 1).
 */
import { readdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseArgs } from './args.js';
import { errorLine, exitCodeOf } from './errors.js';
import { commandHelp, mainHelp } from './help.js';
import { tempPrefix } from './temp.js';
import { version } from './version.js';
import type { FromWorker, WorkerInput } from './worker.js';

function main(argv: string[]): void {
  const debug = argv.includes('--debug');
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`${errorLine(e)}\n`);
    if (debug && e instanceof Error) process.stderr.write(`${e.stack}\n`);
    process.exitCode = exitCodeOf(e);
    return;
  }
  if (parsed.values.version) {
    process.stdout.write(`${version()}\n`);
    return;
  }
  if (parsed.values.help) {
    process.stdout.write(parsed.command ? commandHelp(parsed.command) : mainHelp(version()));
    return;
  }
  if (!parsed.command) {
    process.stderr.write(mainHelp(version()));
    process.exitCode = 2;
    return;
  }
  runInWorker(argv, parsed, debug);
}

function runInWorker(argv: string[], parsed: ReturnType<typeof parseArgs>, debug: boolean): void {
  const temps = new Set<string>();
  const input: WorkerInput = {
    argv,
    isTTY: process.stderr.isTTY === true,
    columns: process.stderr.columns || 80,
  };
  // The tensor engine reads STADE_THREADS when it loads (in the worker, which inherits the environment).
  const threads = parsed.values.threads;
  if (typeof threads === 'number') process.env.STADE_THREADS = String(threads);
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: input });
  let finished = false;
  let interrupted = false;
  let atLineStart = true; // whether stderr ends with a newline (a progress bar may be mid-line)
  const errLine = (text: string) => process.stderr.write(`${atLineStart ? '' : '\n'}${text}\n`);

  const cleanup = () => {
    for (const p of temps) {
      try {
        rmSync(p, { recursive: true, force: true });
      } catch {
        // best effort: nothing else can be done
      }
    }
    temps.clear();
    // Temporary paths the worker created but had not announced yet carry this process's prefix.
    for (const key of ['out', 'html']) {
      const target = parsed.values[key];
      if (typeof target !== 'string') continue;
      const dir = dirname(resolve(target));
      const prefix = tempPrefix(target);
      try {
        for (const e of readdirSync(dir))
          if (e.startsWith(prefix)) rmSync(join(dir, e), { recursive: true, force: true });
      } catch {
        // the folder may not exist
      }
    }
  };
  const fail = (line: string, stack: string | undefined, code: number) => {
    if (finished) return;
    finished = true;
    errLine(line);
    if (debug && stack) process.stderr.write(`${stack}\n`);
    cleanup();
    process.exitCode = code;
    void worker.terminate();
  };

  worker.on('message', (m: FromWorker) => {
    switch (m.t) {
      case 'out':
        process.stdout.write(m.s);
        break;
      case 'err':
        process.stderr.write(m.s);
        if (m.s.length > 0) atLineStart = m.s.endsWith('\n');
        break;
      case 'tmp+':
        temps.add(m.p);
        break;
      case 'tmp-':
        temps.delete(m.p);
        break;
      case 'done':
        finished = true;
        cleanup();
        process.exitCode = 0;
        void worker.terminate();
        break;
      case 'fail':
        fail(m.line, m.stack, m.code);
        break;
    }
  });
  worker.on('error', (e) => fail(errorLine(e), e.stack, 1));
  worker.on('exit', () => {
    if (!finished && !interrupted) fail('stade: error: the worker thread stopped unexpectedly', undefined, 1);
  });

  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted || finished) return;
    interrupted = true;
    errLine(`stade: error: interrupted by ${sig}; removing partial output`);
    const done = () => {
      cleanup();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    };
    // Stop the worker first so it cannot create files after the cleanup; do not wait for ever.
    const timer = setTimeout(done, 3000);
    worker.terminate().finally(() => {
      clearTimeout(timer);
      done();
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

// A closed pipe (`stade eval --json | head -c 10`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

main(process.argv.slice(2));
