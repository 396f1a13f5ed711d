// Reads OSU Micro-Benchmarks 7.x text output (OSU's own programs, bench/osu.ts, bench/c/osu_*,
// bench/py/osu.py) into a table, and refuses anything that is not in that format:
//   (blank)
//   # OSU MPI <title> v<version>
//   [# Overall = Coll. Init + Compute + MPI_Test + MPI_Wait, blank]   (non-blocking tests)
//   [# Datatype: <MPI type>.]
//   # <column>  <column> ...        (each column right-aligned to the same width as its values)
//   <row>...
// npm run bench (bench/run-all.ts) and test/bench-osu-format.test.ts both use it.

export interface OsuTable {
  /** e.g. "OSU MPI Latency Test" */
  title: string;
  /** e.g. "7.4" */
  version: string;
  /** e.g. "MPI_CHAR"; undefined for osu_barrier. */
  datatype?: string;
  /** Column names without the leading "# ": "Size", "Avg Latency(us)", ... */
  columns: string[];
  /** One record per row: column name -> value. */
  rows: Array<Record<string, number>>;
}

export class OsuFormatError extends Error {
  override name = 'OsuFormatError';
}

/** Lines that OSU-format output may carry besides the table (e.g. a launcher's warnings). */
const foreign = (line: string) => line.startsWith('zcmpirun:') || line.startsWith('osu ');

/** Parses one benchmark's output (exactly one table). */
export function parseOsuOutput(text: string): OsuTable {
  const lines = text.split('\n').filter(l => !foreign(l));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  let i = 0;
  const fail = (what: string): never => {
    throw new OsuFormatError(`line ${i + 1}: ${what}: ${JSON.stringify(lines[i] ?? '(end of output)')}\n${text}`);
  };
  while (i < lines.length && lines[i] === '') i++;
  const head = /^# (OSU MPI .+) v(\d+\.\d+(?:\.\d+)?)$/.exec(lines[i] ?? '');
  if (!head) fail('expected the "# OSU MPI <title> v<version>" line');
  const [, title, version] = head as RegExpExecArray;
  i++;
  if (lines[i] === '# Overall = Coll. Init + Compute + MPI_Test + MPI_Wait') {
    i++;
    if (lines[i] !== '') fail('expected a blank line after the "# Overall" line');
    i++;
  }
  let datatype: string | undefined;
  const dt = /^# Datatype: (MPI_[A-Z_]+)\.$/.exec(lines[i] ?? '');
  if (dt) {
    datatype = dt[1];
    i++;
  }
  const header = lines[i] ?? '';
  if (!header.startsWith('# ')) fail('expected the column header ("# Size ..." or "# Avg Latency(us) ...")');
  const columns = header.slice(2).trim().split(/\s{2,}/);
  if (columns[0] !== 'Size' && columns[0] !== 'Avg Latency(us)') fail('expected the first column to be "Size" or "Avg Latency(us)"');
  // Each column ends where its values end (OSU's fixed widths).
  const ends: number[] = [];
  let at = 0;
  for (const c of columns) {
    at = header.indexOf(c, at) + c.length;
    ends.push(at);
  }
  i++;
  const rows: Array<Record<string, number>> = [];
  for (; i < lines.length; i++) {
    const line = lines[i];
    const cells = line.trim().split(/\s+/);
    if (line === '' || cells.length !== columns.length) fail(`expected ${columns.length} values`);
    const row: Record<string, number> = {};
    cells.forEach((cell, k) => {
      if (!/^-?\d+(\.\d+)?$/.test(cell)) fail(`"${cell}" is not a number`);
      const sizeColumn = k === 0 && columns[0] === 'Size';
      // Size is left-aligned in 10 columns; every other value is right-aligned under its name.
      const end = line.indexOf(cell, k === 0 ? 0 : ends[k - 1]) + cell.length;
      if (sizeColumn ? !line.startsWith(cell) : end !== ends[k]) fail(`"${cell}" is not aligned under "${columns[k]}"`);
      if (!sizeColumn && columns[k] !== 'Iterations' && !/\.\d\d$/.test(cell)) fail(`"${cell}" does not have OSU's two decimals`);
      row[columns[k]] = Number(cell);
    });
    rows.push(row);
  }
  return { title, version, ...(datatype ? { datatype } : {}), columns, rows };
}
