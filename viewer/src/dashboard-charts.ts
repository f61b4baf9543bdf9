/**
 * The dashboard's charts, drawn by Chart.js (bundled with the page, nothing fetched from elsewhere; only the bar
 * chart's parts are registered, the rest is left out of the bundle). Colours are from the Okabe–Ito palette, and
 * no series is told by its colour alone: a second series has a hatched or dotted fill (the legend shows it), and
 * every bar carries its value written beside or inside it.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip, type ChartDataset, type Plugin } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);
Chart.defaults.color = '#e8edf2';
Chart.defaults.borderColor = '#2a323c';
Chart.defaults.font.size = 15;
Chart.defaults.font.family = "system-ui, 'Segoe UI', Roboto, sans-serif";

export const OKABE_ITO = {
  orange: '#e69f00',
  skyBlue: '#56b4e9',
  bluishGreen: '#009e73',
  yellow: '#f0e442',
  blue: '#0072b2',
  vermillion: '#d55e00',
  reddishPurple: '#cc79a7',
} as const;

type Fill = 'solid' | 'stripes' | 'dots';

/** A fill of the colour, plain or with dark hatching or dots, so that two series differ in shape too. */
function fill(color: string, kind: Fill): string | CanvasPattern {
  if (kind === 'solid') return color;
  const tile = document.createElement('canvas');
  tile.width = 12;
  tile.height = 12;
  const context = tile.getContext('2d');
  if (!context) return color;
  context.fillStyle = color;
  context.fillRect(0, 0, 12, 12);
  context.fillStyle = context.strokeStyle = 'rgba(0, 0, 0, 0.6)';
  if (kind === 'stripes') {
    context.lineWidth = 3;
    context.beginPath();
    context.moveTo(-3, 3);
    context.lineTo(3, -3);
    context.moveTo(0, 12);
    context.lineTo(12, 0);
    context.moveTo(9, 15);
    context.lineTo(15, 9);
    context.stroke();
  } else {
    context.beginPath();
    context.arc(6, 6, 2.5, 0, Math.PI * 2);
    context.fill();
  }
  return context.createPattern(tile, 'repeat') ?? color;
}

/** Writes each bar's value on it (inside a stacked segment, past the end of a plain bar). */
const valueLabels: Plugin<'bar'> = {
  id: 'astreinteValueLabels',
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    const horizontal = chart.options.indexAxis === 'y';
    const stacked = chart.options.scales?.x?.stacked === true || chart.options.scales?.y?.stacked === true;
    const format = new Intl.NumberFormat(document.documentElement.lang === 'en' ? 'en-GB' : 'fr-FR', { maximumFractionDigits: 1 });
    ctx.save();
    ctx.font = `600 14px ${Chart.defaults.font.family ?? 'sans-serif'}`;
    ctx.lineWidth = 3;
    ctx.strokeStyle = '#000';
    ctx.fillStyle = '#fff';
    chart.data.datasets.forEach((dataset, index) => {
      const meta = chart.getDatasetMeta(index);
      if (meta.hidden) return;
      meta.data.forEach((element, i) => {
        const value = dataset.data[i];
        if (typeof value !== 'number' || value === 0) return;
        const { x, y, base } = element.getProps(['x', 'y', 'base'], true) as { x: number; y: number; base: number };
        const text = format.format(value);
        const width = ctx.measureText(text).width;
        let [tx, ty] = horizontal ? [x + 6, y] : [x, y - 6];
        ctx.textAlign = horizontal ? 'left' : 'center';
        ctx.textBaseline = horizontal ? 'middle' : 'bottom';
        if (stacked && Math.abs(horizontal ? x - base : y - base) > (horizontal ? width + 8 : 20)) {
          [tx, ty] = horizontal ? [(x + base) / 2, y] : [x, (y + base) / 2];
          ctx.textAlign = 'center';
          ctx.textBaseline = 'middle';
        }
        ctx.strokeText(text, tx, ty);
        ctx.fillText(text, tx, ty);
      });
    });
    ctx.restore();
  },
};

export interface SeriesSpec {
  label: string;
  color: string;
  fill: Fill;
  /** One value per category; null leaves the category without a bar of this series. */
  values: (number | null)[];
}

export interface BarChartSpec {
  categories: string[];
  series: SeriesSpec[];
  horizontal: boolean;
  stacked: boolean;
  /** Title of the value axis. */
  valueTitle: string;
}

/** Draws a bar chart on the canvas; returns the chart, to be destroyed when the page is left or redrawn. */
export function barChart(canvas: HTMLCanvasElement, spec: BarChartSpec): Chart<'bar', (number | null)[], string> {
  const valueAxis = { beginAtZero: true, stacked: spec.stacked, title: { display: true, text: spec.valueTitle }, ticks: { precision: 0 }, grace: '12%' };
  const categoryAxis = { stacked: spec.stacked, ticks: { autoSkip: false } };
  const datasets: ChartDataset<'bar', (number | null)[]>[] = spec.series.map((s) => ({
    label: s.label,
    data: s.values,
    backgroundColor: fill(s.color, s.fill),
    borderColor: s.color,
    borderWidth: 2,
    skipNull: true,
  }));
  return new Chart<'bar', (number | null)[], string>(canvas, {
    type: 'bar',
    data: { labels: spec.categories, datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: spec.horizontal ? 'y' : 'x',
      scales: spec.horizontal ? { x: valueAxis, y: categoryAxis } : { x: categoryAxis, y: valueAxis },
      plugins: { legend: { display: spec.series.length > 1, labels: { boxWidth: 28, boxHeight: 18 } } },
    },
    plugins: [valueLabels],
  });
}
