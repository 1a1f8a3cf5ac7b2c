#!/usr/bin/env node
// Throughput of the Node.js SDK against a real engine (not part of CI): events/s received with
// next() and nextBatch(), published with publish() and publishMany(), beside Rust baselines on
// the same engine in the same run (raw TCP SUB, and event-engine-client's next_batch).
//
//   make bench-node            (release builds of the addon, the engine and the baseline)
//   EE_ENGINE_BIN=... EE_RAW_SUB_BIN=... node bench/bench.js [--quick] [--large | --only-large]
//
// --large adds (--only-large only runs) events of 1 KB to 16 MB: publishMany -> engine ->
// nextBatch (default byte budget) beside the Rust raw baseline (raw TCP PUB -> bus -> raw TCP
// SUB) with events of the same size, on the same engine; lost = events that did not arrive.
//
// Prints a Markdown table for docs/benchmarks.md.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { Plugin } = require('..');
const { startEngine, repoRoot } = require('../test/helpers/engine.js');

const quick = process.argv.includes('--quick');
const onlyLarge = process.argv.includes('--only-large');
const large = onlyLarge || process.argv.includes('--large');
/** Sizes and counts of the large-event rows (each about 1-3 s). */
const LARGE_SIZES = [
  [1 << 10, 200000],
  [64 << 10, 20000],
  [1 << 20, 2000],
  [8 << 20, 250],
  [16 << 20, 120],
].map(([size, n]) => [size, quick ? Math.max(10, Math.floor(n / 100)) : n]);
const SMALL = quick ? 2000 : 20000; // one round trip per event
const LARGE = quick ? 20000 : 200000; // batched
const BATCH = 1000;

/** Events of 100 bytes, as in the Rust bench (crates/event-engine-bench). */
const SIZE = 100;

function event(filter, i) {
  return Buffer.from(`${filter}This is message ${i} `.padEnd(SIZE, '.'));
}

/** Publishes `n` events with `filter` in batches through `source`. */
async function feed(source, filter, n) {
  for (let i = 0; i < n; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + BATCH); j++) batch.push(event(filter, j));
    await source.publishMany(batch);
  }
}

/** Receives `n` events with `receive()` (which resolves to an array); checks the order. */
async function drain(receive, n, filter) {
  let received = 0;
  while (received < n) {
    const batch = await receive();
    if (batch.length === 0) throw new Error(`only ${received} of ${n} events arrived`);
    for (const e of batch) {
      if (!e.equals(event(filter, received))) throw new Error(`event ${received} out of order: ${e}`);
      received += 1;
    }
  }
}

async function measure(label, n, fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const rate = n / seconds;
  console.error(`${label}: ${n} events in ${seconds.toFixed(2)} s = ${Math.round(rate)} events/s`);
  return { label, n, seconds, rate };
}

function rawBaseline(args, label, n) {
  const bin = process.env.EE_RAW_SUB_BIN || path.join(repoRoot, 'target', 'release', 'examples', 'raw_sub');
  if (!fs.existsSync(bin)) {
    console.error(`${label}: skipped (${bin} not built: cargo build --release -p event-engine-node --example raw_sub)`);
    return null;
  }
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 120000 });
  if (r.status !== 0) throw new Error(`${label}: ${r.stderr || r.error}`);
  const { seconds, rate } = JSON.parse(r.stdout.trim().split('\n').pop());
  console.error(`${label}: ${n} events in ${seconds.toFixed(2)} s = ${Math.round(rate)} events/s`);
  return { label, n, seconds, rate };
}

function sizeLabel(size) {
  return size >= 1 << 20 ? `${size >> 20} MB` : `${size >> 10} KB`;
}

/** The large-event rows: returns Markdown lines. */
async function largeRows() {
  const engine = await startEngine(
    [
      { name: 'bigSource', subscriptions: [] },
      { name: 'bigIn', subscriptions: ['Big'] },
    ],
    { bus: { tcp_subscribers: 'block' } },
  );
  const source = await Plugin.connect({ port: engine.ports.bigSource });
  const sink = await Plugin.connect({ port: engine.ports.bigIn });
  const lines = [
    '| size | path | events | events/s | MB/s | x raw | lost |',
    '|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const [size, n] of LARGE_SIZES) {
    const raw = rawBaseline(
      [engine.ready.publish, engine.ready.subscribe, String(n), 'raw', String(size)],
      `Rust raw TCP PUB -> bus -> SUB, ${sizeLabel(size)}`,
      n,
    );
    const ev = Buffer.alloc(size, 'x');
    ev.write('Big', 0);
    const per = Math.max(1, Math.min(BATCH, Math.floor((4 << 20) / size)));
    let received = 0;
    let bad = 0;
    const r = await measure(`publishMany -> engine -> nextBatch, ${sizeLabel(size)}`, n, () =>
      Promise.all([
        (async () => {
          for (let i = 0; i < n; i += per) {
            await source.publishMany(new Array(Math.min(per, n - i)).fill(ev));
          }
        })(),
        (async () => {
          while (received < n) {
            const batch = await sink.nextBatch(BATCH, { timeoutMs: 20000 });
            if (batch.length === 0) break;
            for (const e of batch) if (e.length !== size) bad += 1;
            received += batch.length;
          }
        })(),
      ]),
    );
    const lost = n - received + bad;
    const rate = (n - lost) / r.seconds;
    const mb = (x) => Math.round((x * size) / 1e6).toLocaleString('en-US');
    const label = sizeLabel(size);
    if (raw) {
      lines.push(`| ${label} | Rust raw TCP PUB -> bus -> raw TCP SUB | ${n} | ${Math.round(raw.rate).toLocaleString('en-US')} | ${mb(raw.rate)} | 1.00x (reference) | 0 |`);
    }
    const ratio = raw ? `${(rate / raw.rate).toFixed(2)}x` : '';
    lines.push(`| ${label} | Node publishMany -> engine -> nextBatch | ${n} | ${Math.round(rate).toLocaleString('en-US')} | ${mb(rate)} | ${ratio} | ${lost} |`);
  }
  await Promise.all([source.quit(), sink.quit()]);
  const exit = await engine.exited;
  await engine.stop();
  if (exit.code !== 0) throw new Error(`the engine exited with ${exit.code}: ${exit.stderr}`);
  return lines;
}

async function main() {
  if (onlyLarge) {
    console.log((await largeRows()).join('\n'));
    return;
  }
  const engine = await startEngine(
    [
      { name: 'source', subscriptions: [] },
      { name: 'inNext', subscriptions: ['InN'] },
      { name: 'inBatch', subscriptions: ['InB'] },
      { name: 'inIter', subscriptions: ['InI'] },
      { name: 'outOne', subscriptions: [] },
      { name: 'outMany', subscriptions: [] },
      { name: 'drain', subscriptions: ['Out'] },
      { name: 'rustClient', subscriptions: ['RawC'] },
      { name: 'rustClient1', subscriptions: ['Raw1'] },
    ],
    { bus: { tcp_subscribers: 'block' } },
  );
  const connect = (name) => Plugin.connect({ port: engine.ports[name] });
  const plugins = {};
  for (const name of Object.keys(engine.ports)) plugins[name] = await connect(name);
  const { source, drain: drainer } = plugins;
  const results = [];

  // In: events arrive while they are received (the source publishes in parallel).
  results.push(
    await measure('in, next() (one event per round trip)', SMALL, () =>
      Promise.all([
        feed(source, 'InN', SMALL),
        drain(async () => {
          const e = await plugins.inNext.next({ timeoutMs: 10000 });
          return e ? [e] : [];
        }, SMALL, 'InN'),
      ]),
    ),
  );
  results.push(
    await measure(`in, nextBatch(${BATCH})`, LARGE, () =>
      Promise.all([
        feed(source, 'InB', LARGE),
        drain(() => plugins.inBatch.nextBatch(BATCH, { timeoutMs: 10000 }), LARGE, 'InB'),
      ]),
    ),
  );
  results.push(
    await measure('in, for await (batches of 256)', LARGE, () =>
      Promise.all([
        feed(source, 'InI', LARGE),
        (async () => {
          let i = 0;
          for await (const e of plugins.inIter.events({ timeoutMs: 10000 })) {
            if (!e.equals(event('InI', i))) throw new Error(`event ${i} out of order`);
            if (++i === LARGE) break;
          }
        })(),
      ]),
    ),
  );

  // Out: a draining plugin receives what is published, so that the bus never fills.
  results.push(
    await measure('out, publish() (one event per round trip)', SMALL, () =>
      Promise.all([
        (async () => {
          for (let i = 0; i < SMALL; i++) await plugins.outOne.publish(event('Out', i));
        })(),
        drain(() => drainer.nextBatch(BATCH, { timeoutMs: 10000 }), SMALL, 'Out'),
      ]),
    ),
  );
  results.push(
    await measure(`out, publishMany(${BATCH})`, LARGE, () =>
      Promise.all([
        feed(plugins.outMany, 'Out', LARGE),
        drain(() => drainer.nextBatch(BATCH, { timeoutMs: 10000 }), LARGE, 'Out'),
      ]),
    ),
  );

  // Rust baselines on the same engine.
  const raw = rawBaseline([engine.ready.publish, engine.ready.subscribe, String(LARGE)], 'Rust, raw TCP PUB -> bus -> raw TCP SUB', LARGE);
  const rust1 = rawBaseline(
    [engine.ready.publish, `tcp://127.0.0.1:${engine.ports.rustClient1}`, String(SMALL), 'client1'],
    'Rust, event-engine-client next() (one event per round trip)',
    SMALL,
  );
  const rust = rawBaseline(
    [engine.ready.publish, `tcp://127.0.0.1:${engine.ports.rustClient}`, String(LARGE), 'client'],
    `Rust, event-engine-client next_batch(${BATCH})`,
    LARGE,
  );

  await Promise.all(Object.values(plugins).map((p) => p.quit()));
  const exit = await engine.exited;
  await engine.stop();
  if (exit.code !== 0) throw new Error(`the engine exited with ${exit.code}: ${exit.stderr}`);

  const one = results[0].rate;
  const batch = results[1].rate;
  const rows = [...results, raw, rust1, rust].filter(Boolean);
  const lines = [
    `Node.js ${process.version}, ${os.cpus().length} cores (${os.cpus()[0].model}), one run, ${new Date().toISOString().slice(0, 10)}; events of ${SIZE} bytes.`,
    '',
    '| path | events | events/s | vs. next() |',
    '|---|---:|---:|---:|',
    ...rows.map((r) => `| ${r.label} | ${r.n} | ${Math.round(r.rate).toLocaleString('en-US')} | ${(r.rate / one).toFixed(1)}x |`),
    '',
    `nextBatch(${BATCH}) / next(): ${(batch / one).toFixed(1)}x (target: >= 20x)`,
  ];
  if (large) lines.push('', ...(await largeRows()));
  console.log(lines.join('\n'));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
