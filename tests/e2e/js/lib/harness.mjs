// Harness of the sagemock JavaScript suite (node --test): starts the real binary on a free
// port with an in-memory database, puts the recording proxy (tests/e2e/strict/recproxy.py) in
// front of it, and gives the tests the proxy's URL. Every SageMaker response the SDK receives
// is decoded there by the strict decoder and checked by the conformance checker; `useSagemock`
// fails each test whose responses broke the model, and the file if the server does not exit 0
// on SIGTERM.
//
//   SAGEMOCK_BIN      the binary (default <repo>/build/sagemock)
//   SAGEMOCK_PYTHON   the Python that runs the proxy (default /usr/bin/python3)

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import readline from "node:readline";
import { after, afterEach, before } from "node:test";
import { fileURLToPath } from "node:url";

import { SageMakerClient } from "@aws-sdk/client-sagemaker";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, "../../../..");
export const BIN = process.env.SAGEMOCK_BIN || path.join(REPO, "build", "sagemock");
export const PYTHON = process.env.SAGEMOCK_PYTHON || "/usr/bin/python3";
const PROXY = path.join(REPO, "tests", "e2e", "strict", "recproxy.py");

export const REGION = "us-east-1";
export const ACCOUNT = "123456789012";
export const CREDENTIALS = { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" };
export const ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerRole";
export const IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1";

// Keep the SDK away from the developer's AWS configuration.
for (const k of Object.keys(process.env)) {
  if (k.startsWith("AWS_")) delete process.env[k];
}
process.env.AWS_CONFIG_FILE = "/dev/null";
process.env.AWS_SHARED_CREDENTIALS_FILE = "/dev/null";
process.env.AWS_EC2_METADATA_DISABLED = "true";

/** A JSON HTTP call (node:http: no experimental fetch on Node 18). Resolves { status, text, json }. */
export function httpJson(method, url, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(url, {
      method,
      headers: data ? { "Content-Type": "application/json", "Content-Length": data.length } : {},
      agent: false,
    }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode, text, json });
      });
    });
    req.on("error", reject);
    req.setTimeout(15000, () => req.destroy(new Error(`${method} ${url}: timeout`)));
    req.end(data);
  });
}

/** Wait for a line matching `re` on the child's stdout; resolves with the match. */
function waitForLine(child, re, what, timeoutMs = 15000) {
  return new Promise((resolve, reject) => {
    const seen = [];
    const rl = readline.createInterface({ input: child.stdout });
    const timer = setTimeout(() => {
      rl.close();
      reject(new Error(`${what}: no line matching ${re} within ${timeoutMs} ms; saw ${JSON.stringify(seen)}`));
    }, timeoutMs);
    rl.on("line", (line) => {
      seen.push(line);
      const m = re.exec(line);
      if (m) {
        clearTimeout(timer);
        rl.removeAllListeners("line");
        child.stdout.resume(); // keep draining
        resolve(m);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before it listened; stdout ${JSON.stringify(seen)}`));
    });
  });
}

/** Start the recording proxy in front of `upstream`; returns { url, take(), report(), stop() }. */
export async function startProxy(upstream, client = "js") {
  const child = spawn(PYTHON, [PROXY, "--upstream", upstream, "--client", client], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  child.on("error", () => {});
  const m = await waitForLine(child, /^recproxy: listening on (http:\/\/127\.0\.0\.1:\d+)/, "recproxy");
  const url = m[1];
  const call = async (method, p) => (await httpJson(method, url + p)).json;
  return {
    url,
    take: async () => (await call("POST", "/_recproxy/take")).violations,
    report: () => call("GET", "/_recproxy/report"),
    stop: async () => {
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin.end();
      child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Start sagemock (and the proxy in front of it). */
export async function startSagemock({ args = [] } = {}) {
  const stderr = [];
  const child = spawn(BIN, ["--port", "0", "--db", ":memory:", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stderr.on("data", (d) => {
    stderr.push(d);
    if (stderr.length > 400) stderr.shift();
  });
  const spawnError = new Promise((_, reject) => child.once("error", reject));
  const m = await Promise.race([
    waitForLine(child, /sagemock: listening on (http:\/\/127\.0\.0\.1:\d+)/, `sagemock (${BIN})`),
    spawnError,
  ]);
  const serverUrl = m[1];
  const proxy = await startProxy(serverUrl, `@aws-sdk/client-sagemaker@${sdkVersion()}`);

  async function admin(method, p, body) {
    const r = await httpJson(method, serverUrl + p, body);
    assert.equal(r.status, 200, `${method} ${p} ${JSON.stringify(body)} -> ${r.status} ${r.text}`);
    return r.json;
  }

  return {
    serverUrl,
    url: proxy.url,
    proxy,
    admin,
    clock: () => admin("GET", "/_sagemock/clock"),
    now: async () => (await admin("GET", "/_sagemock/clock")).now,
    pause: () => admin("POST", "/_sagemock/clock", { rate: 0 }),
    setRate: (rate) => admin("POST", "/_sagemock/clock", { rate }),
    advance: (seconds) => admin("POST", "/_sagemock/clock", { advance: seconds }),
    setClock: (t) => admin("POST", "/_sagemock/clock", { set: t }),
    reset: () => admin("POST", "/_sagemock/reset", {}),
    client: (extra = {}) =>
      new SageMakerClient({ endpoint: proxy.url, region: REGION, credentials: CREDENTIALS, ...extra }),
    stderr: () => Buffer.concat(stderr).toString("utf8").slice(-4000),
    /** SIGTERM the server (its exit status) and stop the proxy. */
    async stop() {
      await proxy.stop();
      if (child.exitCode !== null) return child.exitCode;
      const exited = new Promise((r) => child.once("exit", (code, signal) => r(code ?? signal)));
      child.kill("SIGTERM");
      const timeout = new Promise((r) => setTimeout(() => r("timeout"), 10000).unref());
      const rc = await Promise.race([exited, timeout]);
      if (rc === "timeout") child.kill("SIGKILL");
      return rc;
    },
  };
}

let cachedVersion;
export function sdkVersion() {
  if (!cachedVersion) {
    // the installed version (package.json of the package, not its exports map)
    const pkg = path.join(HERE, "..", "node_modules", "@aws-sdk", "client-sagemaker", "package.json");
    cachedVersion = JSON.parse(readFileSync(pkg, "utf8")).version;
  }
  return cachedVersion;
}

/**
 * One sagemock + proxy for the calling test file: started before its tests, stopped after them
 * (exit status 0 required); after each test, the responses it received must have decoded
 * strictly. Returns an object filled in by the `before` hook; `await sm.ready()` in hooks.
 */
export function useSagemock(options = {}) {
  let started;
  const ready = new Promise((resolve, reject) => (started = { resolve, reject }));
  ready.catch(() => {});
  // `ready()` resolves once the server is up: a file's own `before` hooks await it (Node may run
  // top-level hooks in any order).
  const ctx = { ready: () => ready };
  before(async () => {
    try {
      Object.assign(ctx, await startSagemock(options));
      started.resolve(ctx);
    } catch (e) {
      started.reject(e);
      throw e;
    }
  });
  afterEach(async () => {
    if (!ctx.proxy) return;
    const problems = await ctx.proxy.take();
    assert.deepEqual(problems, [], `responses the SDK received broke the model:\n  ${problems.join("\n  ")}`);
  });
  after(async () => {
    if (!ctx.stop) return;
    const report = await ctx.proxy.report();
    const rc = await ctx.stop();
    assert.equal(rc, 0, `sagemock exited with ${rc} on SIGTERM\n${ctx.stderr()}`);
    assert.ok(report.responses > 0, "no response went through the strict decoder");
  });
  return ctx;
}

// ------------------------------------------------------------------------------ requests
let counter = 0;
/** A unique valid training-job name (lower case, so the ARN reads the same). */
export function uniqueName(prefix = "js") {
  counter += 1;
  return `${prefix}-${process.pid % 100000}-${Date.now() % 1e8}-${counter}`;
}

export function arnFor(name, region = REGION) {
  return `arn:aws:sagemaker:${region}:${ACCOUNT}:training-job/${name.toLowerCase()}`;
}

/** A minimal valid CreateTrainingJob input. */
export function jobInput(name, overrides = {}) {
  return {
    TrainingJobName: name,
    AlgorithmSpecification: { TrainingImage: IMAGE, TrainingInputMode: "File" },
    RoleArn: ROLE_ARN,
    InputDataConfig: [
      {
        ChannelName: "train",
        DataSource: {
          S3DataSource: {
            S3DataType: "S3Prefix",
            S3Uri: "s3://sagemock-bucket/data/train/",
            S3DataDistributionType: "FullyReplicated",
          },
        },
      },
    ],
    OutputDataConfig: { S3OutputPath: "s3://sagemock-bucket/output/" },
    ResourceConfig: { InstanceType: "ml.m5.large", InstanceCount: 1, VolumeSizeInGB: 30 },
    StoppingCondition: { MaxRuntimeInSeconds: 3600 },
    ...overrides,
  };
}

const TIMESTAMP_KEYS = new Set([
  "CreationTime", "TrainingStartTime", "TrainingEndTime", "LastModifiedTime",
  "StartTime", "EndTime", "Timestamp",
]);

/** Every timestamp member anywhere in `value` is a valid Date; returns how many there were. */
export function assertDates(value, where = "$") {
  let n = 0;
  if (Array.isArray(value)) {
    value.forEach((v, i) => (n += assertDates(v, `${where}[${i}]`)));
  } else if (value && typeof value === "object" && !(value instanceof Date)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === "$metadata") continue;
      if (TIMESTAMP_KEYS.has(k)) {
        assert.ok(v instanceof Date, `${where}.${k} is not a Date: ${v}`);
        assert.ok(!Number.isNaN(v.getTime()), `${where}.${k} is an invalid Date`);
        n += 1;
      } else {
        n += assertDates(v, `${where}.${k}`);
      }
    }
  }
  return n;
}
