// PNG plots for docs/benchmarks.md: a vega-lite chart (size vs latency or bandwidth, log
// scales, one line per system) compiled to vega, rendered to SVG headless, rasterized by
// resvg (prebuilt binary from npm, no system libraries).

import { Resvg } from '@resvg/resvg-js';
import { writeFileSync } from 'node:fs';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { SYSTEM_LABELS, type SystemName } from './systems.js';

const COLORS: Record<SystemName, string> = { zcmpi: '#d62728', ompi: '#1f77b4', mpi4py: '#2ca02c' };

export interface Point {
  system: SystemName;
  size: number;
  value: number;
}

/** "4 KiB" style labels for power-of-two byte counts. */
const SIZE_LABEL = "datum.value >= 1048576 ? format(datum.value / 1048576, 'd') + ' MiB' : datum.value >= 1024 ? format(datum.value / 1024, 'd') + ' KiB' : format(datum.value, 'd') + ' B'";

async function render(spec: vl.TopLevelSpec, file: string): Promise<void> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG(2);
  view.finalize();
  const png = new Resvg(svg, { background: 'white', font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  writeFileSync(file, png);
}

const systemColor = (systems: SystemName[]) => ({
  field: 'label', type: 'nominal' as const, title: null,
  scale: { domain: systems.map(s => SYSTEM_LABELS[s]), range: systems.map(s => COLORS[s]) },
  legend: { orient: 'top-left' as const, fillColor: 'white', padding: 6, strokeColor: '#ccc' },
});

/** Size (log2) against a latency or bandwidth (log10), one line per system. */
export async function sizePlot(file: string, title: string, yTitle: string, points: Point[], systems: SystemName[]): Promise<void> {
  const sizes = [...new Set(points.map(p => p.size))].sort((a, b) => a - b);
  const ticks = sizes.filter(s => Math.log2(s) % 2 === 0 || sizes.length <= 12);
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, fontSize: 15 },
    width: 640,
    height: 360,
    data: { values: points.filter(p => p.value > 0).map(p => ({ ...p, label: SYSTEM_LABELS[p.system] })) },
    mark: { type: 'line', point: { size: 30 }, strokeWidth: 2 },
    encoding: {
      x: { field: 'size', type: 'quantitative', title: 'message size', scale: { type: 'log', base: 2, nice: false },
        axis: { values: ticks, labelExpr: SIZE_LABEL, labelAngle: -40, grid: true } },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { type: 'log' }, axis: { grid: true } },
      color: systemColor(systems),
    },
    config: { font: 'DejaVu Sans', axis: { labelFontSize: 11, titleFontSize: 12 } },
  };
  await render(spec, file);
}

/** Overlap (%) of a non-blocking collective against size, linear 0..100. */
export async function overlapPlot(file: string, title: string, points: Point[], systems: SystemName[]): Promise<void> {
  const sizes = [...new Set(points.map(p => p.size))].sort((a, b) => a - b);
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: title, fontSize: 15 },
    width: 640,
    height: 300,
    data: { values: points.map(p => ({ ...p, label: SYSTEM_LABELS[p.system] })) },
    mark: { type: 'line', point: { size: 30 }, strokeWidth: 2 },
    encoding: {
      x: { field: 'size', type: 'quantitative', title: 'message size', scale: { type: 'log', base: 2, nice: false },
        axis: { values: sizes.filter(s => Math.log2(s) % 2 === 1 || sizes.length <= 12), labelExpr: SIZE_LABEL, labelAngle: -40 } },
      y: { field: 'value', type: 'quantitative', title: 'overlap (%)', scale: { domain: [0, 100] } },
      color: systemColor(systems),
    },
    config: { font: 'DejaVu Sans' },
  };
  await render(spec, file);
}

/** Barrier latency per system, grouped by rank count. */
export async function barrierPlot(file: string, points: Array<{ system: SystemName; np: number; value: number }>, systems: SystemName[]): Promise<void> {
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Barrier latency (lower is better)', fontSize: 15 },
    data: { values: points.map(p => ({ ...p, ranks: `${p.np} ranks`, label: SYSTEM_LABELS[p.system] })) },
    mark: 'bar',
    width: { step: 40 },
    height: 300,
    encoding: {
      column: { field: 'ranks', type: 'nominal', title: null },
      x: { field: 'label', type: 'nominal', title: null, sort: systems.map(s => SYSTEM_LABELS[s]), axis: { labelAngle: -30 } },
      y: { field: 'value', type: 'quantitative', title: 'latency (us)' },
      color: { ...systemColor(systems), legend: null },
    },
    config: { font: 'DejaVu Sans' },
  };
  await render(spec, file);
}
