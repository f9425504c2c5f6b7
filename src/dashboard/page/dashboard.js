/* The dashboard page: one event stream from the server (a snapshot, then changes) drawn
   with echarts. It only reads; every text goes in as textContent. */
/* global echarts */

const COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const PICTURES = ['reconstructions.png', 'latent.png'];

/** Everything the page shows; replaced by a snapshot, extended by each change. */
let state = { status: 'connecting', start: null, lr_curve: [], epochs: [], progress: [], last_progress: null, checkpoint: null, pictures: {} };

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
const charts = {
  loss: echarts.init($('loss-chart'), null, { renderer: 'svg' }),
  throughput: echarts.init($('throughput-chart'), null, { renderer: 'svg' }),
  breakdown: echarts.init($('breakdown-chart'), null, { renderer: 'svg' }),
  lr: echarts.init($('lr-chart'), null, { renderer: 'svg' }),
};
window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()));

const axis = (/** @type {string} */ name, extra = {}) => ({
  name,
  nameLocation: 'middle',
  nameGap: 28,
  scale: true,
  splitLine: { lineStyle: { color: '#eee' } },
  ...extra,
});
const frame = (/** @type {string} */ title) => ({
  animation: false,
  color: COLORS,
  title: { text: title, left: 'center', textStyle: { fontSize: 14 } },
  legend: { top: 26 },
  tooltip: { trigger: 'axis' },
  grid: { left: 60, right: 24, top: 64, bottom: 44 },
});

function drawLoss() {
  const epochs = state.epochs;
  const floor = state.start?.bce_floor ?? null;
  const last = Math.max(state.start?.epochs ?? 1, epochs.length);
  const series = [
    { id: 'train', name: 'train loss', type: 'line', data: epochs.map((e) => [e.epoch, e.train_loss]), symbolSize: 8, lineStyle: { width: 2.5 } },
    { id: 'test', name: 'test loss', type: 'line', data: epochs.map((e) => [e.epoch, e.test_loss]), symbolSize: 8, lineStyle: { width: 2.5 } },
    { id: 'within', name: 'train loss within the epoch', type: 'line', data: state.progress, showSymbol: false, lineStyle: { width: 1, opacity: 0.6 } },
  ];
  if (floor !== null) {
    series.push({
      id: 'floor',
      name: `BCE floor ${floor.toFixed(4)}`,
      type: 'line',
      data: [
        [0, floor],
        [last, floor],
      ],
      showSymbol: false,
      lineStyle: { type: 'dashed', width: 1.5, color: '#555' },
      color: '#555',
    });
  }
  charts.loss.setOption(
    {
      ...frame('Loss per epoch' + (state.start ? ` (${lossName()})` : '')),
      xAxis: axis('epoch', { type: 'value', min: 0, max: last, minInterval: 1 }),
      yAxis: axis('loss', { type: 'value', nameLocation: 'end', nameGap: 10 }),
      series,
    },
    { replaceMerge: ['series'] },
  );
}

function lossName() {
  return state.start?.bce_floor === null ? 'loss' : 'BCE; it never reaches 0: the floor is the targets\u2019 own entropy';
}

/**
 * Each epoch's throughputs, by rank: under MPI every rank's (`ranks`), else the one
 * process's. Also in an MPI run resumed from one process, whose first epochs have no ranks.
 */
function byRank(/** @type {any} */ e) {
  return e.ranks ?? [{ worker_samples_per_sec: e.worker_samples_per_sec, step_seconds: e.step_seconds }];
}

/** Whether the run's epochs name ranks: an MPI run's do. */
const underMpi = () => (state.start?.ranks ?? 1) > 1 || state.epochs.some((e) => e.ranks !== undefined);

function drawThroughput() {
  const epochs = state.epochs;
  const mpi = underMpi();
  // One bar per rank and epoch, stacked from its workers' samples/s: its height is the rank's.
  /** @type {Map<string, {stack: string, data: number[]}>} */
  const parts = new Map();
  epochs.forEach((e, i) =>
    byRank(e).forEach((/** @type {any} */ r, /** @type {number} */ rank) =>
      r.worker_samples_per_sec.forEach((/** @type {number} */ x, /** @type {number} */ w) => {
        const name = mpi ? `rank ${rank} worker ${w + 1}` : `worker ${w + 1}`;
        if (!parts.has(name)) parts.set(name, { stack: `rank ${rank}`, data: epochs.map(() => 0) });
        parts.get(name).data[i] = x;
      }),
    ),
  );
  const series = [...parts].map(([name, { stack, data }]) => ({ id: name, name, type: 'bar', stack, data }));
  series.push({ id: 'total', name: 'total', type: 'line', data: epochs.map((e) => e.samples_per_sec), symbolSize: 7, lineStyle: { width: 2 } });
  charts.throughput.setOption(
    {
      ...frame(mpi ? 'Samples/s per rank (a bar each) and worker, and in total' : 'Samples/s per worker and in total'),
      xAxis: axis('epoch', { type: 'category', data: epochs.map((e) => e.epoch), scale: false }),
      yAxis: axis('samples/s', { type: 'value', nameLocation: 'end', nameGap: 10, scale: false }),
      series,
    },
    { replaceMerge: ['series'] },
  );
}

function drawBreakdown() {
  const parts = [
    ['compute', 'compute'],
    ['wait for slowest', 'waitSlowest'],
    ['reduce + update', 'reduceUpdate'],
    ['coordination', 'coordination'],
  ];
  // Under MPI a bar per rank and epoch; "reduce + update" is then the wait for the exchange across ranks too.
  const mpi = underMpi();
  const bars = state.epochs.flatMap((e) =>
    byRank(e).map((/** @type {any} */ r, /** @type {number} */ rank) => ({
      label: mpi ? `epoch ${e.epoch}\nrank ${rank}` : String(e.epoch),
      step: r.step_seconds,
    })),
  );
  charts.breakdown.setOption(
    {
      ...frame(mpi ? 'Step time per rank, averaged over its workers (ms)' : 'Step time, averaged over workers (ms)'),
      xAxis: axis(mpi ? '' : 'epoch', { type: 'category', data: bars.map((b) => b.label), scale: false, axisLabel: { interval: 0, lineHeight: 14 } }),
      yAxis: axis('ms per step', { type: 'value', nameLocation: 'end', nameGap: 10, scale: false }),
      series: parts.map(([name, key]) => ({ id: key, name, type: 'bar', stack: 'step', data: bars.map((b) => 1000 * b.step[key]) })),
    },
    { replaceMerge: ['series'] },
  );
}

function drawLr() {
  charts.lr.setOption(
    {
      ...frame('Learning rate (schedule and warmup)'),
      xAxis: axis('step', { type: 'value' }),
      yAxis: axis('lr', { type: 'value', nameLocation: 'end', nameGap: 10 }),
      series: [
        {
          id: 'lr',
          name: 'learning rate',
          type: 'line',
          data: state.lr_curve,
          showSymbol: false,
          lineStyle: { width: 2 },
        },
      ],
    },
    { replaceMerge: ['series'] },
  );
}

function drawInfo() {
  const s = state.start;
  $('model').textContent = s === null ? '' : `${s.model} on ${s.data}`;
  const status = $('status');
  status.dataset.status = state.status;
  status.textContent = state.status;
  const m = s?.machine;
  const rows =
    s === null
      ? []
      : [
          ['engine', `${s.engine} (${s.backend})`],
          s.ranks > 1 ? ['ranks × workers / shards', `${s.ranks} × ${s.workers} / ${s.shards}`] : ['workers / shards', `${s.workers} / ${s.shards}`],
          ...(s.hosts === undefined ? [] : [['hosts', hostsOfRanks(s.hosts)]]),
          ['batch', `${s.batch_size}${s.accumulate > 1 ? ` × ${s.accumulate} accumulated` : ''}, ${s.steps_per_epoch} steps/epoch`],
          ['epochs', String(s.epochs)],
          ['rows', `${s.train_rows} train / ${s.test_rows} test`],
          [
            'learning rate',
            `${s.lr_schedule.baseLr} → ${s.lr_schedule.peakLr}, ${s.lr_schedule.decay}${s.lr_schedule.warmupSteps > 0 ? `, ${s.lr_schedule.warmupSteps} warmup steps` : ''}`,
          ],
          ['BCE floor', s.bce_floor === null ? '–' : s.bce_floor.toFixed(4)],
          ['machine', m === undefined ? '–' : `${m.cpu}, ${m.cores} ${m.cores === 1 ? 'core' : 'cores'}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}`],
          [
            'checkpoint',
            state.checkpoint === null ? 'none written' : `${state.checkpoint.dir} (epoch ${state.checkpoint.epoch}, step ${state.checkpoint.step})`,
          ],
        ];
  if (s?.resumed_from !== undefined) rows.push(['resumed from', s.resumed_from]);
  const table = $('info');
  table.replaceChildren(
    ...rows.map(([k, v]) => {
      const tr = document.createElement('tr');
      for (const text of [k, v]) {
        const td = document.createElement('td');
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    }),
  );
}

/** ['a', 'a', 'b'] as 'a (ranks 0, 1), b (rank 2)'. */
function hostsOfRanks(/** @type {string[]} */ hosts) {
  /** @type {Map<string, number[]>} */
  const ranks = new Map();
  hosts.forEach((host, rank) => ranks.set(host, [...(ranks.get(host) ?? []), rank]));
  return [...ranks].map(([host, r]) => `${host} (rank${r.length > 1 ? 's' : ''} ${r.join(', ')})`).join(', ');
}

const COUNT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** The line under the title: where the run stands. */
function drawLive() {
  const p = state.last_progress;
  const e = state.epochs.at(-1);
  $('live').textContent =
    p !== null && state.status === 'running'
      ? `epoch ${p.epoch} step ${p.step}/${p.steps}  loss ${p.loss.toFixed(4)}  ${COUNT.format(p.samples_per_sec)} samples/s  ETA ${p.eta_seconds.toFixed(0)} s`
      : e === undefined
        ? ''
        : `epoch ${e.epoch}: train ${e.train_loss.toFixed(4)}  test ${e.test_loss.toFixed(4)}  ${COUNT.format(e.samples_per_sec)} samples/s`;
}

function drawPictures() {
  for (const file of PICTURES) {
    const id = file.replace('.png', '');
    const picture = state.pictures[file];
    const img = /** @type {HTMLImageElement} */ ($(id));
    if (picture !== undefined && 'src' in picture) {
      if (img.getAttribute('src') !== picture.src) img.src = picture.src;
      $(`${id}-epoch`).textContent = `(epoch ${picture.epoch})`;
    }
    $(`${id}-skip`).textContent = picture !== undefined && 'skip' in picture ? `not drawn: ${picture.skip}` : '';
  }
}

/**
 * What watching costs the run is the browser's CPU: on a machine whose every core
 * trains, each millisecond the page takes is one a worker waits for, and drawing the
 * charts takes tens of them. So text (the live line, the run's facts, the status) and
 * pictures (which the server sends in a pause) are drawn as they come, while a message only marks the charts it changed as
 * stale. Stale charts are drawn when an epoch's steps end (the run then evaluates and
 * draws its pictures), at most every 10 s (?refresh=SECONDS in the page's URL changes
 * it); during the steps at most once a minute, for epochs that long. A snapshot (a page
 * opening) and the end of the run are drawn at once.
 */
const PAUSE_DRAW_MS = 1000 * (Number(new URLSearchParams(location.search).get('refresh')) || 10);
const STEPS_DRAW_MS = 60_000;
const CHARTS = { loss: drawLoss, throughput: drawThroughput, breakdown: drawBreakdown, lr: drawLr };
/** @type {Set<keyof typeof CHARTS>} */
const stale = new Set();
let chartsDrawnAt = -Infinity;
let frameQueued = false;

/** @param {Array<keyof typeof CHARTS>} charts */
function changed(...charts) {
  for (const chart of charts) stale.add(chart);
}

/** Draws the stale charts at the next frame if the last drawing is `every` ms ago or more. */
function chartsIfDue(/** @type {number} */ every) {
  if (frameQueued || performance.now() - chartsDrawnAt < every) return;
  frameQueued = true;
  chartsDrawnAt = performance.now();
  requestAnimationFrame(() => {
    frameQueued = false;
    for (const chart of stale) CHARTS[chart]();
    stale.clear();
  });
}

function drawAll() {
  drawInfo();
  drawLive();
  drawPictures();
  changed('loss', 'throughput', 'breakdown', 'lr');
  chartsIfDue(0);
}

const events = new EventSource('/api/events');
events.onmessage = (message) => {
  const m = JSON.parse(message.data);
  switch (m.type) {
    case 'snapshot':
      state = m;
      return drawAll();
    case 'start':
      // The steps begin now: the schedule and the floor wait for the first pause.
      state.start = m.start;
      state.lr_curve = m.lr_curve;
      changed('loss', 'lr');
      return drawInfo();
    case 'progress':
      state.last_progress = m;
      state.progress.push(...m.points);
      drawLive();
      changed('loss');
      return chartsIfDue(STEPS_DRAW_MS);
    case 'epoch': {
      const { points, pictures, ...epoch } = m;
      state.progress.push(...points);
      state.epochs.push(epoch);
      state.last_progress = null;
      drawLive();
      if (pictures !== undefined) {
        state.pictures = pictures;
        drawPictures();
      }
      changed('loss', 'throughput', 'breakdown');
      return chartsIfDue(PAUSE_DRAW_MS);
    }
    case 'checkpoint':
      state.checkpoint = m;
      return drawInfo();
    case 'pictures':
      state.pictures = m.pictures;
      return drawPictures();
    case 'status':
      state.status = m.status;
      state.pictures = m.pictures;
      return drawAll();
  }
};
events.onerror = () => {
  // The server ends the stream when the run ends; the page keeps the last state.
  if (state.status === 'running' || state.status === 'connecting') state.status = 'disconnected';
  events.close();
  drawAll();
};
