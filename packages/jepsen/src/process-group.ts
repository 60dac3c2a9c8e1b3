import { type ChildProcess, spawn } from 'node:child_process';
import { JepsenError } from './errors.js';

/**
 * A child process in a process group of its own, so that signals reach it and everything it
 * starts; its output is kept (the last 256 KiB) for failure reports.
 */
export class GroupProcess {
  private out = '';
  private exited = false;
  readonly exit: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly label: string,
  ) {
    const keep = (c: Buffer) => {
      this.out = (this.out + c.toString('utf8')).slice(-256 * 1024);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exit = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exited = true;
        this.out += `\n[${label} exited: ${signal ?? code}]\n`;
        resolve(code);
      });
      child.on('error', (e) => {
        this.exited = true;
        this.out += `\n[${label} could not start: ${e.message}]\n`;
        resolve(null);
      });
    });
  }

  static spawn(command: string, args: string[], label: string, env?: NodeJS.ProcessEnv): GroupProcess {
    const child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(env === undefined ? {} : { env }),
    });
    return new GroupProcess(child, label);
  }

  get running(): boolean {
    return !this.exited;
  }

  output(): string {
    return this.out;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, sig);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ESRCH') {
        throw new JepsenError('cluster', `${this.label}: kill ${sig}: ${(e as Error).message}`);
      }
    }
  }

  /** SIGKILL (after SIGCONT, should it be paused) and wait for the exit. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exit;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const t = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exit;
    clearTimeout(t);
  }
}
