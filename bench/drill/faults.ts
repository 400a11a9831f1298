import { spawn } from 'node:child_process';
import { chownSync, closeSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { listening, readState, sleep, STATE_DIR, type PollerProbe, type ProcessMonitor, type ProcessState } from './cluster.js';

// The faults, all through the state file's pids; the supervisor brings every process back by itself.

export interface FaultRecord {
  what: string;
  name: string;
  pid: number;
  at: number;
  /** When the process was running again and answering (null: not back within the limit). */
  backAt: number | null;
  newPid: number | null;
}

export type PgFault = 'immediate' | 'kill';

/**
 * Whether the process does its job again: an API's /readyz, a worker polling Temporal (its health
 * port answers long before: it bundles its workflows first), a Temporal service's gRPC port, a port.
 */
async function answering(p: ProcessState, probe: PollerProbe): Promise<boolean> {
  const get = async (url: string) => (await fetch(url, { signal: AbortSignal.timeout(2000) })).ok;
  try {
    if (p.role === 'api' && p.url) return await get(`${p.url}/readyz`);
    if (p.role === 'worker') return (await probe.pollingPids()).has(p.pid!);
    if (p.address) return await listening(Number(p.address.split(':').pop()));
    if (p.port !== undefined) return await listening(p.port);
    return true;
  } catch {
    return false;
  }
}

/** Waits until `name` runs with a pid other than `oldPid` and answers; null after `timeoutMs`. */
export async function waitBack(name: string, oldPid: number, timeoutMs: number, probe: PollerProbe): Promise<{ at: number; pid: number } | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const p = readState()?.processes.find((q) => q.name === name);
    if (p && p.status === 'running' && p.pid !== null && p.pid !== oldPid && (await answering(p, probe))) return { at: Date.now(), pid: p.pid };
    await sleep(200);
  }
  return null;
}

export class Faults {
  readonly records: FaultRecord[] = [];

  constructor(
    private readonly monitor: ProcessMonitor,
    private readonly log: (line: string) => void,
    private readonly t: () => string,
    private readonly probe: PollerProbe,
  ) {}

  /** `preferred` if it is polling Temporal, else another polling worker, else null. */
  async pollingWorker(preferred: string, others: string[]): Promise<string | null> {
    const polling = await this.probe.pollingPids();
    for (const name of [preferred, ...others]) {
      const p = this.target(name);
      if (p && polling.has(p.pid!)) return name;
    }
    return null;
  }

  /** The running process `name`, or null when it is between restarts. */
  private target(name: string): ProcessState | null {
    const p = readState()?.processes.find((q) => q.name === name);
    return p && p.status === 'running' && p.pid !== null ? p : null;
  }

  get lastFaultAt(): number | null {
    return this.records.length === 0 ? null : Math.max(...this.records.map((r) => r.at));
  }

  /** SIGKILL; resolves when the process is back (or not, after `backTimeoutMs`). */
  async kill(name: string, backTimeoutMs = 120_000): Promise<FaultRecord | null> {
    const p = this.target(name);
    if (!p) {
      this.log(`${this.t()} fault skipped: ${name} is not running right now`);
      return null;
    }
    this.monitor.markKill(name, p.pid!);
    const rec: FaultRecord = { what: `SIGKILL ${name}`, name, pid: p.pid!, at: Date.now(), backAt: null, newPid: null };
    try {
      process.kill(p.pid!, 'SIGKILL');
    } catch (e) {
      this.log(`${this.t()} fault: SIGKILL ${name} (pid ${p.pid}) failed: ${(e as Error).message}`);
      return null;
    }
    this.records.push(rec);
    this.log(`${this.t()} FAULT: SIGKILL ${name} (pid ${p.pid})`);
    return this.awaitBack(rec, backTimeoutMs);
  }

  /**
   * Crashes PostgreSQL: `pg_ctl restart -m immediate` (no shutdown checkpoint: crash recovery on the
   * way back up; the supervisor adopts the new postmaster), or SIGKILL of the postmaster.
   */
  async crashPostgres(mode: PgFault, backTimeoutMs = 180_000): Promise<FaultRecord | null> {
    const p = this.target('postgres');
    if (!p) {
      this.log(`${this.t()} fault skipped: postgres is not running right now`);
      return null;
    }
    if (mode === 'kill') return this.kill('postgres', backTimeoutMs);
    if (!p.dataDir || !p.pgCtl) throw new Error('the state file does not say where PostgreSQL and pg_ctl are (DATABASE_URL cluster?)');
    this.monitor.markKill('postgres', p.pid!);
    const rec: FaultRecord = { what: 'pg_ctl restart -m immediate', name: 'postgres', pid: p.pid!, at: Date.now(), backAt: null, newPid: null };
    this.records.push(rec);
    this.log(`${this.t()} FAULT: pg_ctl restart -m immediate (postmaster pid ${p.pid})`);
    // As root, PostgreSQL runs as the data dir's owner; so must pg_ctl. The new server's output goes
    // to a log file that owner can write.
    const { uid, gid } = statSync(p.dataDir);
    const asOwner = process.getuid?.() === 0 && uid !== 0 ? { uid, gid } : {};
    const logFile = join(STATE_DIR, 'logs', 'postgres-after-pg_ctl.log');
    closeSync(openSync(logFile, 'a'));
    if ('uid' in asOwner) chownSync(logFile, uid, gid);
    const code = await new Promise<number | string>((resolve) => {
      const child = spawn(p.pgCtl!, ['restart', '-m', 'immediate', '-D', p.dataDir!, '-w', '-t', '120', '-l', logFile], {
        cwd: p.dataDir,
        // Its own session: the new postmaster must not share the drill's terminal signals.
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, LC_MESSAGES: 'C' },
        ...asOwner,
      });
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString('utf8')));
      child.once('error', (e) => resolve(e.message));
      child.once('exit', (c) => resolve(c === 0 ? 0 : `pg_ctl exited with ${c}: ${err.trim()}`));
    });
    if (code !== 0) this.log(`${this.t()} pg_ctl: ${code}`);
    return this.awaitBack(rec, backTimeoutMs);
  }

  private async awaitBack(rec: FaultRecord, timeoutMs: number): Promise<FaultRecord> {
    const back = await waitBack(rec.name, rec.pid, timeoutMs, this.probe);
    if (back) {
      rec.backAt = back.at;
      rec.newPid = back.pid;
      this.monitor.markBack(rec.name);
      this.log(`${this.t()} ${rec.name} is back after ${((back.at - rec.at) / 1000).toFixed(1)}s (pid ${back.pid})`);
    } else {
      this.log(`${this.t()} ${rec.name} is NOT back after ${Math.round(timeoutMs / 1000)}s`);
    }
    return rec;
  }
}
