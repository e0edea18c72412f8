// Helpers of the dashboard tests: the real sagemock binary on a free port, Debian's chromium
// through playwright-core, the admin API, raw SageMaker calls, and the seed fixture.
//
// SAGEMOCK_BIN names the binary (default: build/sagemock of the repository); SAGEMOCK_CHROMIUM
// the browser (default /usr/bin/chromium).
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..', '..');
export const ARTIFACTS = path.join(HERE, 'artifacts');
export const CHROMIUM = process.env.SAGEMOCK_CHROMIUM || '/usr/bin/chromium';

// Flags that keep a headless chromium quiet and offline: no sandbox (CI runs as root), no GPU,
// no QUIC, no first-run UI, and nothing fetched in the background (updates, sync, components).
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Start sagemock with `args` after `--port 0 --db :memory: --clock-rate 0`; resolves to
 *  {url, proc, stop(), stderr()} once it prints its listening line. */
export function startServer(args = []) {
  const bin = process.env.SAGEMOCK_BIN || path.join(REPO, 'build', 'sagemock');
  if (!fs.existsSync(bin)) throw new Error(`sagemock binary not found: ${bin} (build it, or set SAGEMOCK_BIN)`);
  const proc = spawn(bin, ['--port', '0', '--db', ':memory:', '--clock-rate', '0', ...args],
    {stdio: ['ignore', 'pipe', 'pipe']});
  let err = '';
  proc.stderr.on('data', (b) => { err += b; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`sagemock did not start:\n${err}`)); }, 10000);
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`sagemock exited (${code}) before listening:\n${err}`)); });
    proc.stdout.on('data', (b) => {
      out += b;
      const m = out.match(/listening on (http:\/\/[\d.]+:\d+)/);
      if (!m) return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      resolve({
        url: m[1], proc, stderr: () => err,
        /** SIGTERM; resolves to the exit code (0 expected). */
        stop: () => new Promise((done) => {
          if (proc.exitCode !== null) return done(proc.exitCode);
          const kill = setTimeout(() => proc.kill('SIGKILL'), 10000);
          proc.on('exit', (code) => { clearTimeout(kill); done(code); });
          proc.kill('SIGTERM');
        }),
      });
    });
  });
}

/** Call the admin API; throws on a non-2xx answer. */
export async function admin(srv, method, p, body, headers = {}) {
  const res = await fetch(`${srv.url}/_sagemock/${p}`, {method, headers: {'Content-Type': 'application/json', ...headers},
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)});
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${method} /_sagemock/${p} -> ${res.status} ${JSON.stringify(data)}`);
  return data;
}

/** An unsigned awsJson1.1 SageMaker call (the server takes any, or no, credentials by
 *  default); resolves to {status, body}. */
export async function sagemaker(srv, operation, input) {
  const res = await fetch(`${srv.url}/`, {method: 'POST', body: JSON.stringify(input),
    headers: {'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': `SageMaker.${operation}`}});
  return {status: res.status, body: await res.json()};
}

/** Launch headless chromium with a fresh user-data-dir; resolves to {context, close()}. */
export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'sagemock-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS,
    viewport: {width: 1366, height: 900}, deviceScaleFactor: 1, timezoneId: 'UTC', locale: 'en-GB',
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, {recursive: true, force: true});
    },
  };
}

/** Screenshot the page into artifacts/NAME.png (whole page); returns the path. */
export async function keepScreenshot(page, name) {
  fs.mkdirSync(ARTIFACTS, {recursive: true});
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({path: file, fullPage: true});
  return file;
}

// ------------------------------------------------------------------------------ seed data

const IMAGE = '683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1';

/** A minimal valid CreateTrainingJob request. */
export function request(name, extra = {}) {
  return {
    TrainingJobName: name,
    AlgorithmSpecification: {TrainingImage: IMAGE, TrainingInputMode: 'File'},
    RoleArn: 'arn:aws:iam::123456789012:role/SageMakerRole',
    OutputDataConfig: {S3OutputPath: 's3://sagemock-bucket/output/'},
    ResourceConfig: {InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 30},
    StoppingCondition: {MaxRuntimeInSeconds: 3600},
    ...extra,
  };
}

/** Seed jobs in every end state, two still running, one in another region. `steps` is the
 *  number of SecondaryStatusTransitions each has once loaded (docs/FIXTURES.md plans). */
export const SEED = [
  {name: 'nightly-success', scenario: 'success', ago: 3600, status: 'Completed', steps: 5},
  {name: 'nightly-algorithm-error', scenario: 'algorithm-error', ago: 3500, status: 'Failed', steps: 4},
  {name: 'stopped-by-user', scenario: 'success', ago: 3400, stoppedAfter: 6, status: 'Stopped', steps: 5},
  {name: 'hit-max-runtime', scenario: 'max-runtime', ago: 3300, status: 'Stopped', steps: 5,
    extra: {StoppingCondition: {MaxRuntimeInSeconds: 60}}},
  {name: 'retried-then-ok', scenario: 'internal-error-once', ago: 3200, status: 'Completed', steps: 9,
    extra: {RetryStrategy: {MaximumRetryAttempts: 1}, HyperParameters: {epochs: '10'},
      AlgorithmSpecification: {TrainingImage: IMAGE, TrainingInputMode: 'File',
        MetricDefinitions: [{Name: 'validation:accuracy', Regex: 'acc=([0-9.]+)'}]}}},
  {name: 'warm-pool-job', scenario: 'success', ago: 600, status: 'Completed', steps: 5,
    extra: {ResourceConfig: {InstanceType: 'ml.m5.large', InstanceCount: 1, VolumeSizeInGB: 30,
      KeepAlivePeriodInSeconds: 1800}}},
  {name: 'west-capacity', scenario: 'capacity-error', ago: 3000, region: 'us-west-2', status: 'Failed', steps: 2},
  {name: 'fresh-success', scenario: 'success', ago: 0, status: 'InProgress', steps: 1},
  {name: 'long-training', scenario: 'long-running', ago: 0, status: 'InProgress', steps: 1,
    extra: {StoppingCondition: {MaxRuntimeInSeconds: 86400}}},
];

/** The fixture document of SEED. */
export function seedDocument() {
  return {
    description: 'dashboard tests: jobs in every end state',
    jobs: SEED.map((j) => ({
      request: request(j.name, j.extra), scenario: j.scenario, createdSecondsAgo: j.ago,
      ...(j.region ? {region: j.region} : {}), ...(j.stoppedAfter ? {stoppedAfterSeconds: j.stoppedAfter} : {}),
    })),
  };
}
