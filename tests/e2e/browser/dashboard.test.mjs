// The dashboard (GET /_sagemock/ui) in a real browser: Debian's chromium, headless, driven by
// playwright-core, against the real binary on a free port with a paused clock and an
// in-memory store, seeded with jobs in every end state (helpers.mjs SEED).
//
// Run: npm ci && node --test        (in tests/e2e/browser; SAGEMOCK_BIN names the binary)
// One screenshot per view is kept in artifacts/ (jobs, job-timeline, clock, requests);
// SAGEMOCK_UPDATE_DOCS=1 also copies the timeline's to docs/dashboard-timeline.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {after, before, test} from 'node:test';

import {REPO, SEED, admin, keepScreenshot, launchBrowser, request, sagemaker, seedDocument, startServer}
  from './helpers.mjs';

let srv, browser, page;
const offOrigin = [];   // requests the page made anywhere but the server
const pageErrors = [];  // uncaught exceptions and console errors of the page
const refused = [];     // the page's fetches that got a 4xx or 5xx: "status METHOD path"

before(async () => {
  srv = await startServer();
  await admin(srv, 'POST', 'fixtures', seedDocument());
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.setDefaultTimeout(10000);
  page.on('request', (r) => { if (!r.url().startsWith(srv.url + '/')) offOrigin.push(r.url()); });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // The browser logs every refused fetch on the console; those are checked through `refused`.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) pageErrors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400) refused.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
});

after(async () => {
  await browser?.close();
  if (srv) assert.equal(await srv.stop(), 0, `sagemock did not exit cleanly:\n${srv.stderr()}`);
});

const open = (hash) => page.goto(`${srv.url}/_sagemock/ui${hash}`);
const row = (name) => page.locator(`#jobs-body tr[data-job="${name}"]`);
const describe = (name, region = 'us-east-1') => admin(srv, 'GET', `jobs/describe?region=${region}&name=${name}`);

test('the jobs table lists every seeded job, its status told by text and icon', async () => {
  await open('#/jobs');
  await page.locator('#jobs-body tr[data-job]').nth(SEED.length - 1).waitFor();
  assert.equal(await page.locator('#jobs-body tr[data-job]').count(), SEED.length);
  for (const j of SEED) {
    const r = row(j.name);
    assert.equal(await r.getAttribute('data-status'), j.status, j.name);
    const b = r.locator('.badge');
    assert.equal((await b.innerText()).trim(), j.status, `${j.name}: the badge writes the status`);
    assert.equal(await b.locator('svg').count(), 1, `${j.name}: the badge has an icon`);
    assert.match(await r.innerText(), new RegExp(`\\b${j.scenario}\\b`), `${j.name}: scenario shown`);
    assert.match(await r.innerText(), new RegExp(j.region || 'us-east-1'));
  }
  assert.match(await row('warm-pool-job').innerText(), /Available/);
  assert.match(await row('hit-max-runtime').innerText(), /MaxRuntimeExceeded/);
  assert.match(await row('fresh-success').innerText(), /\(running\)/);
  await keepScreenshot(page, 'jobs');

  // Filters: by status, by part of the name, both.
  await page.selectOption('#f-status', 'Failed');
  assert.deepEqual(await page.locator('#jobs-body tr[data-job]').evaluateAll((rs) => rs.map((r) => r.dataset.job).sort()),
    ['nightly-algorithm-error', 'west-capacity']);
  await page.fill('#f-name', 'WEST');
  assert.deepEqual(await page.locator('#jobs-body tr[data-job]').evaluateAll((rs) => rs.map((r) => r.dataset.job)),
    ['west-capacity']);
  await page.selectOption('#f-status', '');
  await page.fill('#f-name', 'nightly');
  assert.equal(await page.locator('#jobs-body tr[data-job]').count(), 2);
  await page.fill('#f-name', 'no-such');
  assert.match(await page.locator('#jobs-body').innerText(), /No job matches/);
  await page.fill('#f-name', '');
  assert.equal(await page.locator('#jobs-body tr[data-job]').count(), SEED.length);
});

test('clicking a job shows its timeline: one bar per SecondaryStatusTransitions entry', async () => {
  for (const name of ['nightly-algorithm-error', 'hit-max-runtime', 'stopped-by-user', 'retried-then-ok']) {
    await open('#/jobs');
    await row(name).locator('a').click();
    await page.waitForURL(new RegExp(`#/job/us-east-1/${name}$`));
    const d = await describe(name);
    const steps = d.SecondaryStatusTransitions;
    assert.equal(steps.length, SEED.find((j) => j.name === name).steps, `${name}: the seed's plan`);
    const bars = page.locator('#timeline-steps .tl-bar');
    await bars.first().waitFor();
    assert.equal(await bars.count(), steps.length, `${name}: bars == transitions`);
    // Each row writes its status, message and exact start time.
    const rows = await page.locator('#timeline-steps > li').allInnerTexts();
    steps.forEach((s, i) => {
      assert.match(rows[i], new RegExp(`^${i + 1}\\.\\s*${s.Status}\\b`), `${name} step ${i + 1}`);
      assert.ok(rows[i].includes(s.StatusMessage), `${name} step ${i + 1}: ${s.StatusMessage}`);
      const start = new Date(Math.round(s.StartTime * 1000)).toISOString().slice(11, 23);
      assert.ok(rows[i].includes(start), `${name} step ${i + 1}: starts ${start}`);
    });
    // Bars are ordered left to right, and the final status is the last one.
    const lefts = await bars.evaluateAll((bs) => bs.map((b) => parseFloat(b.style.left)));
    assert.deepEqual(lefts, [...lefts].sort((a, b) => a - b));
    // Primary-status bands, then the facts: billing and the failure, as Describe says.
    const bands = await page.locator('.tl-bands .tl-band').evaluateAll((bs) => bs.map((b) => b.dataset.status));
    assert.equal(bands[0], 'InProgress');
    assert.equal(bands[bands.length - 1], d.TrainingJobStatus);
    const facts = await page.locator('#job-facts').innerText();
    assert.match(facts, new RegExp(`TrainingTimeInSeconds\\s+${d.TrainingTimeInSeconds} s`));
    assert.match(facts, new RegExp(`BillableTimeInSeconds\\s+${d.BillableTimeInSeconds} s`));
    if (d.FailureReason) assert.equal(await page.locator('#failure pre').innerText(), d.FailureReason);
    else assert.equal(await page.locator('#failure').count(), 0);
    assert.match(await page.locator('#job-title').innerText(), new RegExp(d.TrainingJobStatus));
  }
  // The page now shows retried-then-ok (Restarting and a second attempt): the README's picture.
  const shot = await keepScreenshot(page, 'job-timeline');
  if (process.env.SAGEMOCK_UPDATE_DOCS === '1')
    fs.copyFileSync(shot, path.join(REPO, 'docs', 'dashboard-timeline.png'));

  // The full Describe JSON is one click away.
  const json = page.locator('#describe-json pre');
  assert.equal(await json.isVisible(), false);
  await page.click('#describe-json summary');
  assert.deepEqual(JSON.parse(await json.innerText()), await describe('retried-then-ok'));
});

test('a job shows its CloudWatch log: one stream per instance, the failure at its end', async () => {
  await open('#/jobs');
  await row('nightly-algorithm-error').locator('a').click();
  await page.waitForURL(/#\/job\/us-east-1\/nightly-algorithm-error$/);
  const logs = await admin(srv, 'GET', 'jobs/logs?name=nightly-algorithm-error');
  assert.ok(logs.streams.length >= 1, 'the seeded job has a stream');
  const streams = page.locator('#job-logs details.log');
  await streams.first().waitFor();
  assert.equal(await streams.count(), logs.streams.length);
  const first = logs.streams[0];
  assert.match(first.name, /^nightly-algorithm-error\/algo-1-\d+$/);
  assert.equal(await streams.first().locator('summary .mono').innerText(), first.name);
  // Every event, in order, with its time of day; the traceback ends the failed attempt.
  const text = await streams.first().locator('pre.log').innerText();
  const lines = text.split('\n');
  assert.equal(lines.length, first.events.length);
  first.events.forEach((e, i) => {
    assert.ok(lines[i].endsWith(e.message), `line ${i + 1}: ${e.message}`);
    assert.ok(lines[i].startsWith(new Date(e.timestamp).toISOString().slice(11, 23)), `line ${i + 1} time`);
  });
  const d = await describe('nightly-algorithm-error');
  assert.ok(text.includes('Traceback (most recent call last):'));
  assert.ok(text.includes(d.FailureReason.replace(/^AlgorithmError: /, '').split('\n')[0]));
  await keepScreenshot(page, 'job-logs');
});

test('a job of another region, and one with a warm pool', async () => {
  await open('#/jobs');
  await row('west-capacity').locator('a').click();
  await page.waitForURL(/#\/job\/us-west-2\/west-capacity$/);
  await page.locator('#timeline-steps .tl-bar').first().waitFor();
  assert.equal(await page.locator('#timeline-steps .tl-bar').count(), 2);
  assert.match(await page.locator('#failure').innerText(), /CapacityError/);
  assert.match(await page.locator('#job-facts').innerText(), /TrainingTimeInSeconds\s+— \(when/);

  await open('#/job/us-east-1/warm-pool-job');
  await page.locator('#timeline-steps .tl-bar').first().waitFor();
  const d = await describe('warm-pool-job');
  assert.equal(d.WarmPoolStatus.Status, 'Available');
  assert.match(await page.locator('[data-fact="Warm pool"]').innerText(),
    new RegExp(`Available, retained ${d.WarmPoolStatus.ResourceRetainedBillableTimeInSeconds} s`));

  await open('#/job/us-east-1/no-such-job');
  await page.getByText('No training job no-such-job in region us-east-1').waitFor();
});

test('advancing the clock from the page moves jobs on, and the table follows without a reload', async () => {
  await open('#/jobs');
  await row('fresh-success').waitFor();
  assert.equal(await row('fresh-success').getAttribute('data-status'), 'InProgress');
  assert.equal(await row('long-training').locator('[data-secondary]').innerText(), 'Starting');
  const before = (await admin(srv, 'GET', 'clock')).now;
  await page.evaluate(() => { window.__sameDocument = true; });

  await page.click('#clockbar [data-advance="60"]');
  // success takes 10 s: Completed; long-running trains for 12 h: Training.
  await row('fresh-success').and(page.locator('[data-status="Completed"]')).waitFor();
  await row('long-training').locator('[data-secondary="Training"]').waitFor();
  assert.equal((await row('fresh-success').locator('.badge').innerText()).trim(), 'Completed');
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'the page was not reloaded');
  assert.equal((await admin(srv, 'GET', 'clock')).now, before + 60);

  // A running job's page follows the clock too: its timeline grows a bar per new status.
  await row('long-training').locator('a').click();
  await page.locator('#timeline-steps .tl-bar').nth(2).waitFor();
  assert.equal(await page.locator('#timeline-steps .tl-bar').count(), 3);  // Starting, Downloading, Training
  assert.equal(await page.locator('#timeline-steps .tl-bar.ongoing').count(), 1);
  await admin(srv, 'POST', 'clock', {advance: 43200});  // from outside the page: polled in
  await page.locator('#timeline-steps .tl-bar').nth(4).waitFor();  // + Uploading, Completed
  assert.equal(await page.locator('#timeline-steps .tl-bar').count(), 5);
  assert.match(await page.locator('#job-title').innerText(), /Completed/);
  assert.equal(await page.evaluate(() => window.__sameDocument), true);
});

test('the clock view: now, rate, pause and resume, advance, set the rate', async () => {
  await open('#/clock');
  await page.locator('#clock-detail [data-clock-state="paused"]').waitFor();
  const c0 = await admin(srv, 'GET', 'clock');
  assert.ok((await page.locator('#clock-now').innerText()).startsWith(new Date(c0.now * 1000).toISOString().slice(0, 10)));
  assert.equal(await page.locator('#btn-pause').isDisabled(), true);
  await keepScreenshot(page, 'clock');

  await page.click('.clock-panel [data-advance="600"]');
  await page.getByText('Clock advanced by 10 m 00 s.').waitFor();
  assert.equal((await admin(srv, 'GET', 'clock')).now, c0.now + 600);

  await page.click('#btn-resume');
  await page.locator('#clock-detail [data-clock-state="running"]').waitFor();
  assert.equal((await admin(srv, 'GET', 'clock')).rate, 1);
  assert.match(await page.locator('#clockbar').innerText(), /Running ×1/);

  await page.fill('#rate-input', '60');
  await page.click('#btn-rate');
  await page.locator('#clock-detail').getByText('Running ×60').waitFor();
  assert.equal((await admin(srv, 'GET', 'clock')).rate, 60);

  await page.fill('#rate-input', '-3');
  await page.click('#btn-rate');
  await page.locator('#say.error').getByText(/Clock not changed: rate must be from 0/).waitFor();

  await page.click('#clockbar-toggle');  // the header's Pause
  await page.locator('#clock-detail [data-clock-state="paused"]').waitFor();
  const c1 = await admin(srv, 'GET', 'clock');
  assert.equal(c1.rate, 0);
  assert.equal(c1.paused, true);
  await page.click('#clockbar-toggle');  // Resume goes back to the last rate
  await page.locator('#clock-detail').getByText('Running ×60').waitFor();
  await page.click('#btn-pause');
  await page.locator('#clock-detail [data-clock-state="paused"]').waitFor();
});

test('the requests tab shows a failed call in red, marked Error in words', async () => {
  assert.equal((await sagemaker(srv, 'DescribeTrainingJob', {TrainingJobName: 'nightly-success'})).status, 200);
  const stop = await sagemaker(srv, 'StopTrainingJob', {TrainingJobName: 'nightly-success'});
  assert.equal(stop.status, 400);
  assert.equal((await sagemaker(srv, 'DescribeTrainingJob', {TrainingJobName: 'never-created'})).status, 400);

  await open('#/requests');
  const failed = page.locator('#req-body tr[data-operation="StopTrainingJob"]');
  await failed.waitFor();
  assert.match(await failed.getAttribute('class'), /\berr\b/);
  const text = await failed.innerText();
  assert.match(text, /400 Error/);
  assert.match(text, /ValidationException/);
  assert.match(text, /nightly-success/);
  // Red: the row's background and the status badge are red hues.
  const rgb = (css) => css.match(/\d+/g).slice(0, 3).map(Number);
  const [r, g, b] = rgb(await failed.evaluate((e) => getComputedStyle(e).backgroundColor));
  assert.ok(r > 200 && r - g > 20 && r - b > 20, `row background rgb(${r}, ${g}, ${b}) is not red`);
  const [br, bg, bb] = rgb(await failed.locator('.badge').evaluate((e) => getComputedStyle(e).color));
  assert.ok(br > bg + 40 && br > bb + 40, `badge text rgb(${br}, ${bg}, ${bb}) is not red`);
  // A successful call is neither red nor marked Error.
  const ok = page.locator('#req-body tr[data-operation="DescribeTrainingJob"][data-status="200"]');
  assert.doesNotMatch((await ok.getAttribute('class')) || '', /\berr\b/);
  assert.match(await ok.innerText(), /200 OK/);
  // The body is one click away.
  await failed.locator('summary').click();
  assert.deepEqual(JSON.parse(await failed.locator('pre').innerText()), {TrainingJobName: 'nightly-success'});
  await keepScreenshot(page, 'requests');

  // Filters: errors only, an operation, a job.
  await page.selectOption('#r-status', 'errors');
  await page.locator('#req-body tr[data-status="200"]').waitFor({state: 'detached'});
  const statuses = await page.locator('#req-body tr[data-seq]').evaluateAll((rs) => rs.map((r) => Number(r.dataset.status)));
  assert.deepEqual(statuses, [400, 400]);
  await page.selectOption('#r-status', '');
  await page.selectOption('#r-operation', 'StopTrainingJob');
  await page.locator('#req-body tr[data-operation="DescribeTrainingJob"]').first().waitFor({state: 'detached'});
  assert.equal(await page.locator('#req-body tr[data-seq]').count(), 1);
  await page.selectOption('#r-operation', '');
  await page.fill('#r-job', 'never-created');
  await page.locator('#req-body tr[data-operation="StopTrainingJob"]').waitFor({state: 'detached'});
  assert.equal(await page.locator('#req-body tr[data-seq]').count(), 1);
  await page.fill('#r-job', '');

  // The dashboard's own traffic is never journaled: exactly our three calls are there.
  const journal = await admin(srv, 'GET', 'requests');
  assert.deepEqual(journal.requests.map((q) => q.operation),
    ['DescribeTrainingJob', 'StopTrainingJob', 'DescribeTrainingJob']);
});

test('a job plots its CloudWatch metrics: one SVG line chart per metric, a line per host', async () => {
  // Ten minutes of training on two GPU hosts: 5 epochs of two metrics, instance metrics a minute.
  const steps = [['Starting', 3], ['Downloading', 62], ['Training', 600], ['Uploading', 10]]
    .map(([status, s]) => ({status, durationSeconds: s, messages: [{atSeconds: 0, text: status}]}));
  const metricDefs = [{Name: 'train:loss', Regex: 'train:loss=([0-9.]+)'}, {Name: 'validation:accuracy', Regex: 'acc=([0-9.]+)'}];
  await admin(srv, 'POST', 'fixtures', {
    scenarios: [{name: 'chart-ten-minutes', steps}],
    jobs: [{request: request('charted', {HyperParameters: {epochs: '5'},
      AlgorithmSpecification: {TrainingImage: '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1',
        TrainingInputMode: 'File', MetricDefinitions: metricDefs},
      ResourceConfig: {InstanceType: 'ml.g5.xlarge', InstanceCount: 2, VolumeSizeInGB: 30}}),
    scenario: 'chart-ten-minutes', createdSecondsAgo: 1200}],
  });
  await open('#/job/us-east-1/charted');
  const charts = page.locator('#job-metrics figure.chart');
  await charts.first().waitFor();
  const data = await admin(srv, 'GET', 'jobs/metrics?name=charted');
  const d = await describe('charted');
  // A picture: inline SVG images with a text label, no table of numbers.
  assert.equal(await page.locator('#job-metrics table').count(), 0);
  assert.equal(await charts.count(), 2 + 5); // 2 algorithm metrics; CPU, memory, disk, GPU, GPU memory
  for (const def of metricDefs) {
    const series = data.metrics.find((m) => m.name === def.Name && m.kind === 'algorithm');
    assert.equal(series.points.length, 5);
    const fig = page.locator(`#job-metrics figure.chart[data-metric="${def.Name}"][data-dimension="TrainingJobName"]`);
    const svg = fig.locator('svg[role="img"]').first();
    // one marker per datapoint, at the series' times and values, joined by one line
    const dots = await svg.locator('circle').evaluateAll((cs) => cs.map((c) => [Number(c.dataset.t), Number(c.dataset.v)]));
    assert.deepEqual(dots, series.points);
    const line = await svg.locator('polyline').getAttribute('points');
    const xy = line.split(' ').map((p) => p.split(',').map(Number));
    assert.equal(xy.length, 5);
    for (let i = 1; i < xy.length; i++) assert.ok(xy[i][0] > xy[i - 1][0], 'time runs left to right');
    // higher values are drawn higher (smaller y)
    const [lo, hi] = [series.points.reduce((a, p) => (p[1] < a[1] ? p : a)), series.points.reduce((a, p) => (p[1] > a[1] ? p : a))];
    assert.ok(xy[series.points.indexOf(hi)][1] < xy[series.points.indexOf(lo)][1]);
    // the last value is Describe's FinalMetricDataList value, and the chart says so in words
    const final = d.FinalMetricDataList.find((m) => m.MetricName === def.Name).Value;
    assert.equal(series.points.at(-1)[1], final);
    assert.match(await svg.getAttribute('aria-label'), new RegExp(`^${def.Name} \\(None, by TrainingJobName\\): 5 datapoints`));
    assert.equal(Number(await fig.locator('figcaption [data-last]').getAttribute('data-last')), final);
  }
  // Instance metrics: one chart per metric, one line per host (told apart by dash and legend).
  const cpu = page.locator('#job-metrics figure.chart[data-metric="CPUUtilization"]');
  assert.deepEqual(await cpu.locator('svg[role="img"] g[data-series]').evaluateAll((gs) => gs.map((g) => g.dataset.series)),
    ['algo-1', 'algo-2']);
  const legend = await cpu.locator('.legend').innerText();
  assert.ok(legend.includes('algo-1') && legend.includes('algo-2'), legend);
  const dashes = await cpu.locator('svg[role="img"] polyline').evaluateAll((ls) => ls.map((l) => l.getAttribute('stroke-dasharray')));
  assert.notEqual(dashes[0], dashes[1]);
  const cpuPoints = data.metrics.filter((m) => m.name === 'CPUUtilization').reduce((n, m) => n + m.points.length, 0);
  assert.equal(await cpu.locator('circle').count(), cpuPoints);
  assert.equal(await page.locator('#job-metrics figure.chart[data-metric="GPUUtilization"]').count(), 1);
  await keepScreenshot(page, 'job-metrics');
});

test('the page fetched nothing but its own server, and raised no error', () => {
  assert.deepEqual(offOrigin, []);
  assert.deepEqual(pageErrors, []);
  // Refused: only the job that does not exist (its Describe and its log), and the negative rate.
  assert.deepEqual([...new Set(refused)].sort(), ['400 POST /_sagemock/clock', '404 GET /_sagemock/jobs/describe',
    '404 GET /_sagemock/jobs/logs', '404 GET /_sagemock/jobs/metrics']);
});

test('under --admin-token the page opens with ?token= and sends the token on every fetch', async () => {
  const token = 'tok/en+1 x';
  const guarded = await startServer(['--admin-token', token]);
  try {
    const hdr = {'X-Sagemock-Admin-Token': token};
    await admin(guarded, 'POST', 'fixtures', {jobs: [seedDocument().jobs[0]]}, hdr);
    assert.equal((await fetch(`${guarded.url}/_sagemock/ui`)).status, 401);
    assert.equal((await fetch(`${guarded.url}/_sagemock/ui?token=wrong`)).status, 401);
    assert.equal((await fetch(`${guarded.url}/_sagemock/jobs/describe?name=nightly-success`)).status, 401);
    const p = await browser.context.newPage();
    try {
      await p.goto(`${guarded.url}/_sagemock/ui?token=${encodeURIComponent(token)}#/jobs`);
      await p.locator('#jobs-body tr[data-job="nightly-success"][data-status="Completed"]').waitFor();
      await p.locator('#conn').getByText('Live').waitFor();
      await p.click('#clockbar [data-advance="3600"]');
      await p.getByText('Clock advanced by 1 h 00 m.').waitFor();
    } finally {
      await p.close();
    }
  } finally {
    assert.equal(await guarded.stop(), 0);
  }
});
