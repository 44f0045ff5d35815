import fs from 'node:fs';

/**
 * CPU time of this process's tree, grouped by what each process is (Linux /proc only): the benchmark process
 * itself, and each child tree by its command name (postgres, temporal, the worker's node, …). Used to show where
 * a benchmark's CPU goes per unit of work, since on a small machine every component shares the same cores.
 */
const CLOCK_TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  cpuSeconds: number;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  // The command name is in parentheses and may itself contain spaces or parentheses.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const fields = text.slice(close + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
  return {
    pid,
    ppid: Number(fields[1]),
    comm,
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND,
  };
}

/** CPU seconds so far of this process and of every descendant, keyed by a label. */
export function cpuByComponent(labelOf: (p: ProcStat) => string = (p) => p.comm): Map<string, number> {
  const stats = fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => readStat(Number(d)))
    .filter((s): s is ProcStat => s !== undefined);
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const isDescendant = (s: ProcStat): boolean => {
    for (let p: ProcStat | undefined = s; p; p = byPid.get(p.ppid)) if (p.pid === process.pid) return true;
    return false;
  };
  const totals = new Map<string, number>();
  for (const s of stats) {
    if (!isDescendant(s)) continue;
    const label = s.pid === process.pid ? 'bench' : labelOf(s);
    totals.set(label, (totals.get(label) ?? 0) + s.cpuSeconds);
  }
  return totals;
}

/** CPU seconds each component spent between two `cpuByComponent` readings. */
export function cpuDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map<string, number>();
  for (const [label, seconds] of after) delta.set(label, seconds - (before.get(label) ?? 0));
  return delta;
}

/** "temporal 21.3 ms, worker 14.2 ms, …" per unit of work, largest first. */
export function formatCpuPerUnit(delta: Map<string, number>, units: number): string {
  return [...delta]
    .filter(([, s]) => s > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([label, s]) => `${label} ${((s * 1000) / units).toFixed(1)} ms`)
    .join(', ');
}
