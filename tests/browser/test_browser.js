#!/usr/bin/env node
// The web page in a real browser: Debian's chromium, headless, driven by
// playwright-core (tests/browser/node_modules). Run it through run.sh,
// which checks that node, chromium and playwright-core are there.
//
// It starts its own microlightd on a free port of 127.0.0.1, with a
// scratch directory (tasks.d, state, socket) removed afterwards, and
// checks as a person would: the task list; a parameter form (text,
// select, number, checkbox) filled and run; a refused form with each
// error under its field and what was typed kept; output arriving live over
// Server-Sent Events while the run still goes, its duration counting and
// its size growing, and output past max-log-size said to be dropped; the
// task list's badges and next run following runs as they are planned,
// queued, start and end, without a reload; a slow run cancelled;
// an @confirm task asking before it runs; the page without JavaScript;
// a phone-sized screen; and no console error, page error, failed
// request or Content-Security-Policy violation anywhere. It prints TAP.
//
// The page under a path behind a small proxy (base-url), and the README's
// screenshots, taken of a daemon with only the example tasks, go to
// $SCREENSHOT_DIR, by default
// $ML_BUILDDIR/tests/browser/screenshots: page-index.png, page-task.png,
// page-run.png and page-mobile.png.
'use strict';

const assert = require('assert');
const child = require('child_process');
const fs = require('fs');
const http = require('http');
const net = require('net');
const os = require('os');
const path = require('path');

const SRCDIR = path.resolve(process.env.ML_SRCDIR ||
  path.join(__dirname, '..', '..'));
const BUILDDIR = path.resolve(process.env.ML_BUILDDIR || SRCDIR);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
// The name the page under a path is reached by (the browser maps it to
// 127.0.0.1): only base-url makes the daemon answer to it.
const PATH_HOST = 'ops.test';
const SHOTS = path.resolve(process.env.SCREENSHOT_DIR ||
  path.join(BUILDDIR, 'tests', 'browser', 'screenshots'));
// How long to wait for any one thing (ms): generous, for a slow machine
// running a sanitizer build. Waits end as soon as their condition holds.
const WAIT = Number(process.env.ML_BROWSER_WAIT_MS) || 30000;
// The whole test, as a last resort.
const DEADLINE = Number(process.env.ML_BROWSER_DEADLINE_MS) || 170000;
const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|UndefinedBehaviorSanitizer|SUMMARY: \w+Sanitizer/;

// TAP --------------------------------------------------------------------

const TESTS = [];
function test(name, fn) { TESTS.push({ name, fn }); }

function skipAll(reason) {
  console.log('1..0 # SKIP ' + reason);
  process.exit(0);
}

function comment(text) {
  for (const line of String(text).split('\n'))
    console.log('# ' + line);
}

// The daemon and its tasks -------------------------------------------------

// Tasks of our own beside the examples of tasks.d. deploy asks before it
// runs (@confirm) and writes coloured output; migrate-db prints each line
// only when the test opens its gate, so the test knows the run is still
// going when a line shows.
function ourTasks(gates) {
  return {
    'deploy.sh': `#!/bin/sh
# Deploy the web shop.
# Fetches the build, runs the smoke tests and switches the live version.
#
# @param version      "Version"  default=v2.4.1
# @param environment  choice(staging, production)  "Environment"  default=staging
# @confirm
# @timeout 10m
# @group Operations
set -eu
esc=$(printf '\\033')
b="$esc[1m" g="$esc[32m" y="$esc[33m" c="$esc[36m" r="$esc[0m"
echo "$b$c==>$r Deploying $b$version$r to $b$environment$r"
echo "$g✔$r fetched build $version $c(14.2 MiB)$r"
echo "$g✔$r 128 smoke tests passed"
echo "warning: setting 'cache_ttl' is deprecated, use 'cache.ttl'" >&2
echo "$y!$r 2 old releases kept for rollback"
echo "$g✔$r switched $environment to $version"
echo "$b\${g}deployed$r in 4.2 s"
`,
    'migrate-db.sh': `#!/bin/sh
# Apply the database migrations, one at a time.
#
# @timeout 5m
# @env GATES=${gates}
# @group Operations
gate() {
	i=0
	while [ ! -e "$GATES/$MICROLIGHT_RUN_ID.$1" ] && [ "$i" -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
gate 1
echo "applying 0042_orders_index ... ok"
gate 2
echo "applying 0043_backfill_totals ... ok"
echo "database is up to date"
`,
  };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

// GET a path of the daemon: { status, body }, status 0 if it did not answer.
function get(port, p) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: p }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', () => resolve({ status: 0, body: '' }));
    req.setTimeout(5000, () => { req.destroy(); });
  });
}

// POST a JSON body to a path of the daemon: { status, body }.
function post(port, p, body) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, path: p,
      method: 'POST', headers: { 'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => { req.destroy(new Error('POST timed out')); });
    req.end(data);
  });
}

// A duration and a size as the daemon words them (duration_format_ms,
// page_size), to compare the page with the API's numbers.
function durationWords(ms) {
  const s = Math.floor(ms / 1000), pad = (n, w) => String(n).padStart(w, '0');
  if (ms < 1000)
    return ms + 'ms';
  if (ms < 60000)
    return s + '.' + pad(ms % 1000, 3) + 's';
  if (s < 3600)
    return Math.floor(s / 60) + 'm' + pad(s % 60, 2) + 's';
  return Math.floor(s / 3600) + 'h' + pad(Math.floor(s % 3600 / 60), 2) + 'm';
}
function sizeWords(n) {
  if (n < 1024)
    return n + (n === 1 ? ' byte' : ' bytes');
  return (n / 1024).toFixed(1) + ' KiB';
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Wait until fn() is truthy (polling), or fail with what.
async function until(fn, what, timeout = WAIT) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    last = await fn();
    if (last)
      return last;
    if (Date.now() > end)
      throw new Error('timed out waiting for ' + what);
    await sleep(100);
  }
}

// A daemon of the test's own: the examples of tasks.d, and, unless
// opts.examplesOnly, the test's tasks; opts.conf is added to its
// microlight.conf.
class Daemon {
  constructor(opts = {}) {
    this.opts = opts;
  }

  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ml-browser-'));
    this.tasks = path.join(this.dir, 'tasks.d');
    this.gates = path.join(this.dir, 'gates');
    fs.mkdirSync(this.tasks);
    fs.mkdirSync(this.gates);
    for (const f of fs.readdirSync(path.join(SRCDIR, 'tasks.d'))) {
      if (f.endsWith('.sh'))
        this.addTask(f, fs.readFileSync(path.join(SRCDIR, 'tasks.d', f)));
    }
    if (!this.opts.examplesOnly) {
      for (const [f, body] of Object.entries(ourTasks(this.gates)))
        this.addTask(f, body);
    }
    fs.writeFileSync(path.join(this.dir, 'microlight.conf'),
      'kill-grace 2s\n' + (this.opts.conf || ''));
    this.log = path.join(this.dir, 'daemon.log');
    const bin = path.join(BUILDDIR, 'microlightd');
    if (!fs.existsSync(bin))
      throw new Error(bin + ' is missing: build it first (make)');
    // A free port can be taken between the look and the daemon's bind:
    // then try another.
    for (let attempt = 0; attempt < 3; attempt++) {
      this.port = await freePort();
      this.base = 'http://127.0.0.1:' + this.port;
      const out = fs.openSync(this.log, 'a');
      const env = Object.assign({}, process.env);
      delete env.MICROLIGHT_SOCKET;
      this.proc = child.spawn(bin, ['-f',
        '-c', path.join(this.dir, 'microlight.conf'), '-T', this.tasks,
        '-d', path.join(this.dir, 'state'), '-s', path.join(this.dir, 'sock'),
        '-l', '127.0.0.1:' + this.port], { stdio: ['ignore', out, out], env });
      fs.closeSync(out);
      this.exited = null;
      this.proc.on('exit', (code, sig) => { this.exited = { code, sig }; });
      const end = Date.now() + WAIT;
      while (!this.exited && Date.now() < end) {
        if ((await get(this.port, '/healthz')).status === 200)
          return;
        await sleep(100);
      }
      if (!this.exited)
        break;
    }
    throw new Error('microlightd did not start:\n' + this.logText());
  }

  addTask(name, body) {
    const p = path.join(this.tasks, name);
    fs.writeFileSync(p, body);
    fs.chmodSync(p, 0o755);
  }

  // Let run id of migrate-db go on past its gate n.
  open(id, n) {
    fs.writeFileSync(path.join(this.gates, id + '.' + n), '');
  }

  async run(id) {
    const r = await get(this.port, '/api/v1/runs/' + id);
    assert.strictEqual(r.status, 200, 'GET /api/v1/runs/' + id + ': ' +
      r.body);
    return JSON.parse(r.body).run;
  }

  // Start a run of task through the JSON API (body: its members, "in"
  // for a run for later): its id.
  async startRun(task, body = {}) {
    const r = await post(this.port, '/api/v1/tasks/' + task + '/runs',
      body);
    assert.strictEqual(r.status, 201, 'POST a run of ' + task + ': ' +
      r.body);
    return JSON.parse(r.body).run.id;
  }

  async runs(task) {
    const r = await get(this.port, '/api/v1/runs?task=' + task);
    assert.strictEqual(r.status, 200, r.body);
    return JSON.parse(r.body).runs;
  }

  logText() {
    try { return fs.readFileSync(this.log, 'utf8'); } catch (e) { return ''; }
  }

  // Stop it (SIGTERM), check it exited cleanly, remove its directory.
  async stop() {
    if (!this.proc) {
      this.kill();
      return;
    }
    try {
      if (!this.exited) {
        this.proc.kill('SIGTERM');
        const end = Date.now() + WAIT;
        while (!this.exited && Date.now() < end)
          await sleep(50);
        if (!this.exited) {
          this.proc.kill('SIGKILL');
          throw new Error('microlightd did not exit after SIGTERM:\n' +
            this.logText());
        }
      }
      const text = this.logText();
      if (SANITIZER.test(text))
        throw new Error('a sanitizer report in the daemon\'s log:\n' + text);
      if (this.exited.code !== 0)
        throw new Error('microlightd exited with ' +
          JSON.stringify(this.exited) + ':\n' + text);
    } finally {
      fs.rmSync(this.dir, { recursive: true, force: true });
    }
  }

  kill() {
    if (this.proc && !this.exited)
      this.proc.kill('SIGKILL');
    if (this.dir)
      fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// The browser -------------------------------------------------------------

// What no page may do: console errors and warnings, uncaught errors,
// failed requests, error statuses, Content-Security-Policy violations.
let problems = [];
// Dialogs (confirm, alert) as they came: { page, type, message }. Each
// is answered by dialogAnswer: true accepts, false dismisses.
const dialogs = [];
let dialogAnswer = false;
// Requests for a page's live stream (a run's /runs/ID/events, the task
// list's /events).
const streams = [];
const STREAM = /\/(runs\/\d+\/)?events(\?|$)/;

// Watch a browser context: every page of it reports to problems.
async function watch(context, label) {
  // A violation of the Content-Security-Policy shows as an event in the
  // page (and a console error): report it here, through a binding, which
  // the policy does not restrict.
  await context.exposeBinding('__mlViolation', (src, v) => {
    problems.push(label + ': CSP violation: ' + v);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__mlViolation(e.violatedDirective + ' blocked ' +
        (e.blockedURI || 'inline') + ' at ' + e.documentURI + ':' +
        e.lineNumber + ' (' + (e.sample || '') + ')');
    });
  });
  context.on('page', (page) => watchPage(page, label));
}

function watchPage(page, label) {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      problems.push(label + ': console ' + m.type() + ': ' + m.text() +
        ' (' + page.url() + ')');
  });
  page.on('pageerror', (e) => problems.push(label + ': page error: ' + e));
  page.on('request', (r) => {
    if (STREAM.test(r.url()))
      streams.push(r.url());
  });
  page.on('response', (r) => {
    if (r.status() >= 400)
      problems.push(label + ': ' + r.status() + ' for ' +
        r.request().method() + ' ' + r.url());
  });
  page.on('requestfailed', (r) => {
    // A page that goes away (or a run that ends) closes its live stream.
    if (STREAM.test(r.url()))
      return;
    problems.push(label + ': request failed: ' + r.method() + ' ' +
      r.url() + ': ' + (r.failure() || {}).errorText);
  });
  page.on('dialog', async (d) => {
    dialogs.push({ page: label, type: d.type(), message: d.message() });
    if (dialogAnswer)
      await d.accept();
    else
      await d.dismiss();
  });
}

// A browser context the size of a phone, watched like the others.
async function phoneContext() {
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2,
    isMobile: true, hasTouch: true, colorScheme: 'light',
    reducedMotion: 'reduce' });
  await watch(phone, 'phone');
  return phone;
}

async function shot(page, name, fullPage = true) {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name), fullPage,
    animations: 'disabled', caret: 'hide' });
}

// Wait for an element of selector that contains text.
async function hasText(page, selector, text, timeout = WAIT) {
  await page.locator(selector, { hasText: text }).first()
    .waitFor({ timeout });
}

async function textOf(page, selector) {
  return (await page.locator(selector).first().textContent()) || '';
}

// The status badge at the top of a run's page.
async function badge(page) {
  return (await textOf(page, '#head .badge')).trim();
}

// On a run's page after a form post: its id; the document is marked so
// that a reload (instead of a live update) would show.
async function onRunPage(page) {
  const id = await toRunPage(page);
  await page.evaluate(() => { window.__mlSameDocument = true; });
  return id;
}

// Wait for the run's page after a form post, or an error page (which
// says why: then fail at once). The run's id.
async function toRunPage(page) {
  const err = page.locator('.errpage');
  await Promise.race([
    page.waitForURL(/\/runs\/\d+$/, { timeout: WAIT }),
    err.waitFor({ timeout: WAIT }).catch(() => {}),
  ]);
  if (await err.count())
    throw new Error('an error page instead of the run\'s page, at ' +
      page.url() + ': ' + (await err.innerText()).replace(/\s*\n\s*/g, ' | '));
  await page.waitForURL(/\/runs\/\d+$/, { timeout: WAIT });
  await page.waitForLoadState('load');
  return Number(page.url().match(/\/runs\/(\d+)$/)[1]);
}

async function sameDocument(page) {
  return page.evaluate(() => window.__mlSameDocument === true);
}

// The tests ---------------------------------------------------------------

let d, browser, ctx, page;

test('GET / lists the tasks by group, with a strict CSP', async () => {
  const res = await page.goto(d.base + '/');
  assert.strictEqual(res.status(), 200);
  const csp = (await res.allHeaders())['content-security-policy'] || '';
  assert.match(csp, /default-src 'none'/, 'CSP: ' + csp);
  assert.match(csp, /script-src 'nonce-[0-9a-f]{16,}'/, 'CSP: ' + csp);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, 'CSP: ' + csp);
  assert.strictEqual(await page.title(), 'Tasks · microlight');
  assert.deepStrictEqual(
    await page.locator('section.group > h2').allTextContents(),
    ['Examples', 'Notifications', 'Operations']);
  assert.deepStrictEqual(
    await page.locator('li.task h3 a').allTextContents(),
    ['check-backup', 'greet', 'hello', 'weekly-report', 'notify-mail',
      'notify-slack', 'deploy', 'migrate-db']);
  assert.match(await textOf(page, '#task-hello .desc'), /smallest task/);
  assert.match(await textOf(page, '#task-weekly-report .meta'),
    /every Monday at 08:00/);
  // A task that asks for a value, or to be sure, leads to its page;
  // the others run from the list.
  assert.strictEqual(await page.locator('#task-greet a.btn')
    .getAttribute('href'), '/tasks/greet');
  assert.strictEqual(await page.locator('#task-deploy a.btn')
    .getAttribute('href'), '/tasks/deploy');
  assert.strictEqual(await page.locator('#task-hello form button')
    .textContent(), 'Run');
  assert.match(await textOf(page, '#recent'), /No runs yet/);
});

test('greet: a form with text, select, number and checkbox runs',
  async () => {
  await page.click('#task-greet a.btn');
  await page.waitForURL(/\/tasks\/greet$/);
  const name = page.locator('#run-form input[name="name"]');
  const greeting = page.locator('#run-form select[name="greeting"]');
  const times = page.locator('#run-form input[name="times"]');
  const shout = page.locator('#run-form input[type="checkbox"][name="shout"]');
  assert.strictEqual(await name.getAttribute('type'), 'text');
  assert.strictEqual(await name.getAttribute('required'), '');
  assert.match(await textOf(page, 'label[for="p-name"]'), /Who to greet/);
  assert.deepStrictEqual(await greeting.locator('option').allTextContents(),
    ['Hello', 'Good morning', 'Hi']);
  assert.strictEqual(await greeting.inputValue(), 'Hello');
  assert.strictEqual(await times.getAttribute('type'), 'number');
  assert.strictEqual(await times.inputValue(), '1');
  assert.strictEqual(await shout.isChecked(), false);

  // The browser itself keeps the form without its required name.
  await page.click('#run-form button[type="submit"]');
  assert.match(page.url(), /\/tasks\/greet$/);
  assert.strictEqual(await name.evaluate((e) => e.validity.valueMissing),
    true);
  assert.strictEqual((await d.runs('greet')).length, 0);

  await name.fill('Ada <b>');
  await greeting.selectOption('Good morning');
  await times.fill('2');
  await shout.check();
  await page.click('#run-form button[type="submit"]');
  const id = await onRunPage(page);
  await hasText(page, '#head .badge', 'succeeded');
  assert.strictEqual(await textOf(page, '#out'),
    'GOOD MORNING, ADA <B>!\nGOOD MORNING, ADA <B>!\n');
  const params = await textOf(page, '#params');
  for (const want of [/Who to greet\s*name\s*Ada <b>/, /Good morning/,
    /How many times\s*times\s*2/, /Shout it\s*shout\s*true/])
    assert.match(params, want);
  assert.match(await textOf(page, '#head'), /127\.0\.0\.1\s*\(web\)/);
  const run = await d.run(id);
  assert.deepStrictEqual(run.params, { name: 'Ada <b>',
    greeting: 'Good morning', times: '2', shout: 'true' });
  assert.strictEqual(run.trigger, 'web');
});

test('a refused form: each error next to its field, what was typed kept',
  async () => {
  await page.goto(d.base + '/tasks/greet');
  const before = (await d.runs('greet')).length;
  const seen = problems.length;
  // Values the browser lets through and the daemon refuses: a number
  // too large for an integer, a delay that is no duration.
  await page.fill('#run-form input[name="name"]', 'Grace');
  await page.selectOption('#run-form select[name="greeting"]', 'Hi');
  await page.fill('#run-form input[name="times"]', '99999999999999999999');
  await page.check('#run-form input[type="checkbox"][name="shout"]');
  await page.fill('#f-in', 'soon');
  await page.click('#run-form button[type="submit"]');
  await page.locator('#form-error').waitFor({ timeout: WAIT });
  assert.match(page.url(), /\/tasks\/greet\/run$/);
  assert.match(await textOf(page, '#form-error'),
    /2 fields need attention/);
  // Under the number field, by its label; the input says so.
  const times = page.locator('#run-form input[name="times"]');
  const err = page.locator('#p-times + p.field-error');
  assert.match(await err.textContent(),
    /^How many times: '99999999999999999999' is not an integer$/);
  assert.strictEqual(await times.getAttribute('aria-invalid'), 'true');
  assert.strictEqual(await times.getAttribute('aria-describedby'),
    await err.getAttribute('id'));
  assert.ok(await err.isVisible());
  assert.match(await textOf(page, '#f-in + p.field-error'),
    /^Run later: in soon: /);
  // What was typed, chosen and ticked is still there.
  assert.strictEqual(await times.inputValue(), '99999999999999999999');
  assert.strictEqual(await page.inputValue('#run-form input[name="name"]'),
    'Grace');
  assert.strictEqual(await page.inputValue(
    '#run-form select[name="greeting"]'), 'Hi');
  assert.ok(await page.isChecked(
    '#run-form input[type="checkbox"][name="shout"]'));
  assert.strictEqual(await page.inputValue('#f-in'), 'soon');
  assert.strictEqual(await page.locator('#p-name[aria-invalid]').count(), 0);
  assert.strictEqual((await d.runs('greet')).length, before);
  // The link in the summary leads to the field.
  await page.click('#form-error a[href="#p-times"]');
  assert.match(page.url(), /#p-times$/);
  // The refusal is a 400, as it should be: not a problem of the page.
  problems = problems.slice(0, seen).concat(problems.slice(seen).filter(
    (x) => !/400 for POST .*\/tasks\/greet\/run$|status of 400/.test(x)));

  // Put right, it runs.
  await times.fill('1');
  await page.fill('#f-in', '');
  await page.click('#run-form button[type="submit"]');
  const id = await onRunPage(page);
  await hasText(page, '#head .badge', 'succeeded');
  assert.strictEqual(await textOf(page, '#out'), 'HI, GRACE!\n');
  assert.strictEqual((await d.run(id)).params.times, '1');
});

test('output arrives live (Server-Sent Events) while the run goes',
  async () => {
  await page.goto(d.base + '/');
  const nstreams = streams.length;
  await page.click('#task-migrate-db form button');
  const id = await onRunPage(page);
  // Nothing printed yet: the line can only come through the stream.
  assert.strictEqual((await d.run(id)).status, 'running');
  assert.match(await textOf(page, '#out'), /No output yet/);
  assert.match(await badge(page), /running/);
  await until(() => streams.length > nstreams, 'the live stream to open');
  assert.match(streams[streams.length - 1], new RegExp('/runs/' + id +
    '/events'));
  await page.locator('#live').waitFor({ state: 'visible', timeout: WAIT });

  d.open(id, 1);
  await hasText(page, '#out', 'applying 0042_orders_index ... ok');
  const out = await textOf(page, '#out');
  assert.ok(!out.includes('0043'), 'the second line came early: ' + out);
  assert.ok(!out.includes('No output yet'), out);
  // The run is still going (it waits for gate 2): the line came live.
  assert.strictEqual((await d.run(id)).status, 'running');
  assert.match(await badge(page), /running/);
  assert.strictEqual(await page.locator('#cancel').count(), 1);
  assert.ok(await sameDocument(page), 'the page was reloaded');

  d.open(id, 2);
  await hasText(page, '#out', 'database is up to date');
  await hasText(page, '#head .badge', 'succeeded');
  assert.ok(await sameDocument(page), 'the page was reloaded');
  assert.strictEqual(await textOf(page, '#out'),
    'applying 0042_orders_index ... ok\n' +
    'applying 0043_backfill_totals ... ok\ndatabase is up to date\n');
  assert.match(await textOf(page, '#head'), /Exit code\s*0/);
  assert.strictEqual(await page.locator('#cancel').count(), 0);
  await page.locator('#live').waitFor({ state: 'hidden', timeout: WAIT });
  assert.strictEqual((await d.run(id)).status, 'succeeded');
});

test('a run\'s page counts its duration and its output\'s size live',
  async () => {
  await page.goto(d.base + '/');
  await page.click('#task-migrate-db form button');
  const id = await onRunPage(page);
  assert.strictEqual(await textOf(page, '#output-size'), '0 bytes');
  // The duration counts on, second by second, in the same document.
  const first = await textOf(page, '#duration');
  assert.match(first, /^running for /);
  await until(async () => (await textOf(page, '#duration')) !== first,
    'the duration to count on');
  assert.match(await textOf(page, '#duration'), /^running for \d/);
  // The size follows the output as it comes, by the server's count.
  d.open(id, 1);
  await hasText(page, '#out', 'applying 0042_orders_index ... ok');
  let run = await d.run(id);
  assert.strictEqual(run.status, 'running');
  await until(async () => (await textOf(page, '#output-size')) ===
    sizeWords(run.output_size), 'the size of the first line');
  assert.strictEqual(run.output_size, Buffer.byteLength(
    'applying 0042_orders_index ... ok\n'));
  assert.strictEqual(await page.locator('#output-size')
    .getAttribute('data-bytes'), '34');
  // The end: the status, the duration and size it ended with.
  d.open(id, 2);
  await hasText(page, '#head .badge', 'succeeded');
  run = await d.run(id);
  assert.strictEqual(await textOf(page, '#duration'), durationWords(
    Date.parse(run.finished_at) - Date.parse(run.started_at)));
  assert.strictEqual(await textOf(page, '#output-size'),
    sizeWords(run.output_size));
  assert.strictEqual(run.output_size, Buffer.byteLength(
    await textOf(page, '#out')));
  assert.ok(await sameDocument(page), 'the page was reloaded');
  assert.strictEqual(await page.title(), 'Run #' + id +
    ' · succeeded · microlight');
});

test('output past max-log-size is said to be dropped while it goes',
  async () => {
  // A task of this test only: it floods at gate 1, ends at gate 2.
  const gate = (n) => '[ -e "' + d.gates + '/$MICROLIGHT_RUN_ID.' + n +
    '" ] || { sleep 0.1; continue; }; break';
  d.addTask('flood.sh', '#!/bin/sh\n# Writes past max-log-size.\n' +
    'while :; do ' + gate(1) + '; done\n' +
    'head -c 40000 /dev/zero | tr "\\0" x\n' +
    'while :; do ' + gate(2) + '; done\n');
  await until(async () => (await get(d.port, '/api/v1/tasks/flood'))
    .status === 200, 'the new task');
  const id = await d.startRun('flood');
  await page.goto(d.base + '/runs/' + id);
  await page.evaluate(() => { window.__mlSameDocument = true; });
  assert.strictEqual(await page.locator('#output-size')
    .getAttribute('data-limit'), String(16 * 1024));
  assert.strictEqual(await page.locator('#dropped').count(), 0);
  d.open(id, 1);
  // No event comes for what is dropped: the page says so at the limit.
  await hasText(page, '#dropped', 'max-log-size reached');
  assert.strictEqual(await textOf(page, '#output-size'),
    '16.0 KiB (max-log-size reached: the rest is dropped)');
  d.open(id, 2);
  await hasText(page, '#head .badge', 'succeeded');
  const run = await d.run(id);
  assert.strictEqual(run.output_dropped, 40000 - 16 * 1024);
  assert.strictEqual(await textOf(page, '#dropped'),
    '(' + run.output_dropped + ' bytes dropped)');
  assert.match(await textOf(page, '#out'), new RegExp('\\[microlight: ' +
    run.output_dropped + ' bytes of output dropped'));
  assert.ok(await sameDocument(page), 'the page was reloaded');
  fs.unlinkSync(path.join(d.tasks, 'flood.sh'));
  await until(async () => (await get(d.port, '/api/v1/tasks/flood'))
    .status === 404, 'the task to go');
});

test('the task list follows runs as they are queued, start and end',
  async () => {
  const nstreams = streams.length;
  await page.goto(d.base + '/');
  await page.evaluate(() => { window.__mlSameDocument = true; });
  await until(() => streams.slice(nstreams).some((u) =>
    /\/events\?since=\d+$/.test(u)), 'the list\'s stream to open');
  const side = '#task-migrate-db .last';
  const badgeOf = (cls) => page.locator(side + ' a.badge.' + cls);
  const before = await textOf(page, side);
  // One run starts, two more wait (one at a time): both badges, with
  // how many wait; the runs after the first go on past their gates.
  const a = await d.startRun('migrate-db');
  await badgeOf('b-running').waitFor({ timeout: WAIT });
  assert.strictEqual(await badgeOf('b-running').getAttribute('href'),
    '/runs/' + a);
  const b = await d.startRun('migrate-db');
  const c = await d.startRun('migrate-db');
  for (const id of [b, c]) {
    d.open(id, 1);
    d.open(id, 2);
  }
  await hasText(page, side + ' a.badge.b-queued', '2 queued');
  assert.strictEqual(await badgeOf('b-queued').getAttribute('href'),
    '/runs/' + b);
  assert.strictEqual(await badgeOf('b-running').textContent(), 'running');
  assert.ok(!(await textOf(page, side)).includes('never run'), before);
  // They all end: no running, no queued; the last result is the last
  // run's, with when it ended.
  d.open(a, 1);
  d.open(a, 2);
  await until(async () => await badgeOf('b-running').count() === 0 &&
    await badgeOf('b-queued').count() === 0, 'the runs to end');
  await badgeOf('b-succeeded').waitFor({ timeout: WAIT });
  assert.strictEqual(await badgeOf('b-succeeded').getAttribute('href'),
    '/runs/' + c);
  assert.match(await page.locator(side + ' time').getAttribute('title'),
    /\(server: /);
  assert.ok(await sameDocument(page), 'the list was reloaded');
  // A reload draws the same badges.
  const badges = () => page.locator(side + ' a.badge').evaluateAll((els) =>
    els.map((e) => e.className + ' ' + e.getAttribute('href') + ' ' +
      e.textContent));
  const live = await badges();
  await page.reload();
  assert.deepStrictEqual(await badges(), live);
  // A run planned for later is its next run, until it is cancelled.
  await page.evaluate(() => { window.__mlSameDocument = true; });
  const next = page.locator('#task-migrate-db .t-main .next time');
  assert.strictEqual(await next.count(), 0);
  const later = await d.startRun('migrate-db', { in: '3h' });
  await next.waitFor({ timeout: WAIT });
  assert.strictEqual(await next.getAttribute('datetime'),
    (await d.run(later)).scheduled_for);
  const r = await post(d.port, '/api/v1/runs/' + later + '/cancel', {});
  assert.strictEqual(r.status, 200, r.body);
  await next.waitFor({ state: 'detached', timeout: WAIT });
  assert.ok(await sameDocument(page), 'the list was reloaded');
});

test('a slow run is cancelled from its page', async () => {
  await page.goto(d.base + '/tasks/weekly-report');
  await page.fill('#run-form input[name="steps"]', '60');
  await page.click('#run-form button[type="submit"]');
  const id = await onRunPage(page);
  await hasText(page, '#out', '[1/60]');
  assert.match(await badge(page), /running/);
  // Leave the live page (its stream closes) and come back from the list.
  await page.goto(d.base + '/');
  await page.locator('#task-weekly-report a.badge.b-running').click();
  await page.waitForURL(new RegExp('/runs/' + id + '$'));
  await page.waitForLoadState('load');
  await hasText(page, '#out', '[1/60]');
  await page.locator('#live').waitFor({ state: 'visible', timeout: WAIT });
  const before = dialogs.length;
  dialogAnswer = true;	// a "Cancel this run?" question, if there is one
  await page.click('#cancel');
  await hasText(page, '#head .badge', 'cancelled');
  dialogAnswer = false;
  if (dialogs.length > before)
    comment('Cancel asked: ' + dialogs[dialogs.length - 1].message);
  const run = await until(async () => {
    const r = await d.run(id);
    return r.status !== 'running' && r;
  }, 'the run to end');
  assert.strictEqual(run.status, 'cancelled');
  assert.match(await textOf(page, '#head'), /cancelled by 127\.0\.0\.1/);
  const out = await textOf(page, '#out');
  assert.ok(out.includes('[1/60]') && !out.includes('[60/60]') &&
    !out.includes('report ready'), out);
  assert.strictEqual(await page.locator('#cancel').count(), 0);
  // The run's page keeps saying so.
  await page.reload();
  assert.strictEqual(await badge(page), 'cancelled');
});

test('@confirm: deploy asks before it runs', async () => {
  await page.goto(d.base + '/');
  await page.click('#task-deploy a.btn');
  await page.waitForURL(/\/tasks\/deploy$/);
  // With JavaScript the page asks with a dialog, not with its checkbox.
  assert.ok(!(await page.locator('#confirm-row').isVisible()),
    'the "Yes, run it" box shows');
  await page.selectOption('#run-form select[name="environment"]',
    'production');

  // No: nothing runs.
  let n = dialogs.length;
  dialogAnswer = false;
  await page.click('#run-form button[type="submit"]');
  await until(() => dialogs.length > n, 'the confirm dialog');
  assert.strictEqual(dialogs[n].type, 'confirm');
  assert.match(dialogs[n].message, /deploy/);
  await sleep(500);	// a run, if one was started, would show by now
  assert.match(page.url(), /\/tasks\/deploy$/);
  assert.strictEqual((await d.runs('deploy')).length, 0,
    'a run was started though the dialog was dismissed');

  // Yes: it runs.
  n = dialogs.length;
  dialogAnswer = true;
  await page.click('#run-form button[type="submit"]');
  const id = await onRunPage(page);
  dialogAnswer = false;
  assert.strictEqual(dialogs.length, n + 1, 'asked ' + (dialogs.length - n) +
    ' times');
  await hasText(page, '#head .badge', 'succeeded');
  assert.strictEqual((await d.run(id)).params.environment, 'production');

  // The output in colour: ANSI styles as classes, stderr marked, no
  // escape sequence left.
  await hasText(page, '#out', 'deployed');
  const out = await textOf(page, '#out');
  assert.ok(!out.includes('\x1b') && !out.includes('[0m'), out);
  assert.match(out, /==> Deploying v2\.4\.1 to production/);
  assert.strictEqual(await page.locator('#out .a-fg2', { hasText: '✔' })
    .count(), 3);
  assert.ok(await page.locator('#out .a-b', { hasText: 'v2.4.1' }).count());
  assert.ok(await page.locator('#out .a-fg6').count());
  assert.match(await textOf(page, '#out .err'), /cache_ttl/);
  const green = await page.locator('#out .a-fg2').first()
    .evaluate((e) => getComputedStyle(e).color);
  const plain = await page.locator('#out').evaluate((e) =>
    getComputedStyle(e).color);
  assert.notStrictEqual(green, plain, 'green output is not coloured');
});

test('one click runs hello; a failed run shows its exit code', async () => {
  await page.goto(d.base + '/');
  await page.click('#task-hello form button');
  let id = await onRunPage(page);
  await hasText(page, '#head .badge', 'succeeded');
  assert.match(await textOf(page, '#out'), new RegExp('^Hello from ' +
    'microlight on .*\\nThis is run ' + id + ' of hello, started by ' +
    '127\\.0\\.0\\.1 \\(web\\)\\.\\n$'));

  await page.goto(d.base + '/tasks/check-backup');
  await page.fill('#run-form input[name="file"]',
    path.join(d.dir, 'nightly.tar.gz'));
  await page.click('#run-form button[type="submit"]');
  id = await onRunPage(page);
  await hasText(page, '#head .badge', 'failed');
  assert.match(await textOf(page, '#head'), /Exit code\s*2/);
  assert.match(await textOf(page, '#out .err'), /is missing/);
  assert.strictEqual((await d.run(id)).exit_code, 2);
});

test('times show in the viewer\'s zone, the server\'s on hover', async () => {
  const id = (await d.runs('hello'))[0].id;
  const run = await d.run(id);
  const india = await browser.newContext({ timezoneId: 'Asia/Kolkata',
    locale: 'en-US' });
  await watch(india, 'india');
  try {
    const p = await india.newPage();
    await p.goto(d.base + '/runs/' + id);
    const started = p.locator('.facts time').nth(1);
    assert.strictEqual(await started.getAttribute('datetime'),
      run.started_at);
    const want = new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Kolkata',
      year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit',
      minute: '2-digit', second: '2-digit', timeZoneName: 'short' })
      .format(new Date(run.started_at));
    assert.strictEqual(await started.textContent(), want);
    assert.match(await started.getAttribute('title'),
      /^server: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+$/);
    // A time shown as "... ago" keeps that text; its tooltip is local.
    await p.goto(d.base + '/');
    const ago = p.locator('#recent time').first();
    assert.match(await ago.textContent(), /ago|just now/);
    assert.match(await ago.getAttribute('title'), /\(server: /);
  } finally {
    await india.close();
  }
});

test('Run later makes a future run, Upcoming cancels it; Run again repeats',
    async () => {
  await page.goto(d.base + '/tasks/hello');
  await page.fill('#f-in', '2h');
  await page.click('#run-form button[type="submit"]');
  const later = await onRunPage(page);
  await hasText(page, '#head .badge', 'scheduled');
  await hasText(page, '#scheduled-for', 'Scheduled for');
  assert.strictEqual((await d.run(later)).status, 'scheduled');

  await page.goto(d.base + '/tasks/hello');
  await hasText(page, '#upcoming', 'run #' + later);
  await page.click('#cancel-' + later);
  await page.waitForURL(/\/tasks\/hello/, { timeout: WAIT });
  assert.strictEqual((await d.run(later)).status, 'cancelled');

  await page.goto(d.base + '/tasks/hello');
  await page.click('#run-form button[type="submit"]');
  const first = await onRunPage(page);
  await hasText(page, '#head .badge', 'succeeded');
  await page.click('#rerun');
  const again = await onRunPage(page);
  assert.notStrictEqual(again, first);
  await hasText(page, '#head .badge', 'succeeded');
  const run = await d.run(again);
  assert.strictEqual(run.rerun_of, first);
  assert.strictEqual(run.trigger, 'web');
});

test('a run for later\'s page follows it once it is due', async () => {
  await page.goto(d.base + '/tasks/migrate-db');
  await page.fill('#f-in', '2s');
  await page.click('#run-form button[type="submit"]');
  const id = await onRunPage(page);
  await hasText(page, '#head .badge', 'scheduled');
  await hasText(page, '#scheduled-for', 'Scheduled for');
  // Due, the same page follows the run live: its stream waited for it.
  await hasText(page, '#head .badge', 'running');
  assert.ok(await sameDocument(page), 'the page was reloaded');
  await page.locator('#live').waitFor({ state: 'visible', timeout: WAIT });
  d.open(id, 1);
  await hasText(page, '#out', 'applying 0042_orders_index ... ok');
  d.open(id, 2);
  await hasText(page, '#head .badge', 'succeeded');
  assert.strictEqual((await d.run(id)).status, 'succeeded');
});

test('without JavaScript: the confirm box; the page reloads until the end',
  async () => {
    const nojs = await browser.newContext({ javaScriptEnabled: false,
      viewport: { width: 1000, height: 800 } });
    await watch(nojs, 'no-js');
    try {
      const p = await nojs.newPage();
      await p.goto(d.base + '/tasks/deploy');
      const yes = p.locator('#confirm-row input[name="_confirm"]');
      assert.ok(await yes.isVisible(), 'no "Yes, run it" box');
      assert.strictEqual(await yes.getAttribute('required'), '');
      const before = (await d.runs('deploy')).length;
      await p.click('#run-form button[type="submit"]');
      assert.match(p.url(), /\/tasks\/deploy$/);
      assert.strictEqual((await d.runs('deploy')).length, before);
      await yes.check();
      await p.click('#run-form button[type="submit"]');
      await toRunPage(p);
      assert.strictEqual((await d.runs('deploy')).length, before + 1);
      // A run that goes on: the page reloads itself until the end.
      await p.goto(d.base + '/');
      await p.click('#task-migrate-db form button');
      const id = await toRunPage(p);
      assert.match(await textOf(p, '#out'), /No output yet/);
      assert.strictEqual(await p.locator('meta[http-equiv="refresh"]')
        .count(), 1);
      assert.strictEqual(await p.locator('p.note',
        { hasText: 'reloads every 2 seconds' }).count(), 1);
      d.open(id, 1);
      await hasText(p, '#out', 'applying 0042_orders_index ... ok');
      assert.match(await badge(p), /running/);
      d.open(id, 2);
      await hasText(p, '#head .badge', 'succeeded');
      await hasText(p, '#out', 'database is up to date');
      assert.strictEqual(await p.locator('meta[http-equiv="refresh"]')
        .count(), 0);
    } finally {
      await nojs.close();
    }
  });

test('the task list, on a computer and on a phone', async () => {
  await page.goto(d.base + '/');
  assert.ok(await page.locator('#recent tbody tr').count() >= 6);
  const phone = await phoneContext();
  try {
    const p = await phone.newPage();
    await p.goto(d.base + '/');
    const overflow = await p.evaluate(() =>
      document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, 'wider than the screen by ' + overflow + 'px');
    const box = await p.locator('#task-hello form button').boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390 &&
      box.height >= 32, 'the Run button: ' + JSON.stringify(box));
  } finally {
    await phone.close();
  }
});

// A small reverse proxy, as a site that serves microlight under a path
// of its own: /microlight/... goes on to the daemon without its prefix
// (as Caddy's handle_path does), streamed as it comes; anything else is
// the proxy's own 404, so a link that forgot the path shows as a failed
// request. It keeps every path it was asked for.
class PathProxy {
  async start(prefix) {
    this.prefix = prefix;
    this.seen = [];
    this.server = http.createServer((req, res) => this.pass(req, res));
    await new Promise((ok) => this.server.listen(0, '127.0.0.1', ok));
    this.port = this.server.address().port;
  }

  pass(req, res) {
    this.seen.push(req.method + ' ' + req.url);
    if (!req.url.startsWith(this.prefix + '/')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not under ' + this.prefix + '/\n');
      return;
    }
    const up = http.request({ host: '127.0.0.1', port: this.backend,
      method: req.method, path: req.url.slice(this.prefix.length),
      headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', (e) => {
      if (!res.headersSent)
        res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(String(e));
    });
    res.on('close', () => up.destroy());
    req.pipe(up);
  }

  close() {
    if (this.server) {
      this.server.closeAllConnections();
      this.server.close();
    }
  }
}

// The page under a path: a daemon with base-url behind the proxy, reached
// by a name of its own (ops.test, which only base-url allows; the
// browser resolves it to 127.0.0.1).
let under, proxy;

test('under a path behind a proxy: links, forms, live output, Run again',
  async () => {
  proxy = new PathProxy();
  await proxy.start('/microlight');
  const root = 'http://' + PATH_HOST + ':' + proxy.port + '/microlight/';
  under = new Daemon({ conf: 'base-url ' + root + '\n' });
  await under.start();
  proxy.backend = under.port;
  const p = await ctx.newPage();
  try {
    await p.goto(root);
    assert.match(await textOf(p, 'h1'), /Tasks/);
    // A task's page by its link, its form posted: the run's page.
    await p.click('#task-greet a.btn');
    await p.waitForURL(root + 'tasks/greet');
    await p.fill('#run-form input[name="name"]', 'Grace');
    await p.click('#run-form button[type="submit"]');
    await p.waitForURL(new RegExp('^' + root.replace(/[.]/g, '\\.') +
      'runs/\\d+$'));
    await hasText(p, '#head .badge', 'succeeded');
    assert.strictEqual(await textOf(p, '#out'), 'Hello, Grace!\n');
    // Run again, with the same values, from the run's page.
    await p.click('#rerun');
    await p.waitForURL(/\/microlight\/tasks\/greet\?/);
    assert.strictEqual(await p.inputValue('#run-form input[name="name"]'),
      'Grace');
    await p.click('#run-form button[type="submit"]');
    await p.waitForURL(/\/microlight\/runs\/\d+$/);
    await hasText(p, '#head .badge', 'succeeded');
    // Live output through the proxy, under the path.
    await p.goto(root);
    await p.click('#task-migrate-db form button');
    await p.waitForURL(/\/microlight\/runs\/\d+$/);
    const id = Number(p.url().match(/\/runs\/(\d+)$/)[1]);
    await p.locator('#live').waitFor({ state: 'visible', timeout: WAIT });
    under.open(id, 1);
    await hasText(p, '#out', 'applying 0042_orders_index ... ok');
    assert.strictEqual((await under.run(id)).status, 'running');
    under.open(id, 2);
    await hasText(p, '#head .badge', 'succeeded');
    // The raw log, the crumbs back to the list.
    const raw = await p.getAttribute('a:text("Raw log")', 'href');
    assert.strictEqual(raw, '/microlight/api/v1/runs/' + id + '/log');
    await p.click('nav.crumbs a:text("Tasks")');
    await p.waitForURL(root);
  } finally {
    await p.close();
  }
  const outside = proxy.seen.filter((u) =>
    !u.split(' ')[1].startsWith('/microlight/'));
  assert.deepStrictEqual(outside, [], 'asked for outside the path');
  assert.ok(proxy.seen.some((u) => /\/microlight\/runs\/\d+\/events/
    .test(u)), 'no live run stream through the proxy');
  assert.ok(proxy.seen.some((u) => /^GET \/microlight\/events\?/.test(u)),
    'no live task list stream through the proxy');
});

// The README's screenshots: a daemon with only the examples of tasks.d,
// each run as a person would, shown on a computer and on a phone.
let examples;

test('the README\'s screenshots show the example tasks', async () => {
  examples = new Daemon({ examplesOnly: true });
  await examples.start();
  const base = examples.base;
  const p = await ctx.newPage();
  try {
    await p.goto(base + '/');
    await p.click('#task-hello form button');
    await p.waitForURL(/\/runs\/\d+$/);
    await hasText(p, '#head .badge', 'succeeded');
    await p.goto(base + '/tasks/check-backup');
    await p.fill('#run-form input[name="file"]', '/var/backups/nightly.tar.gz');
    await p.click('#run-form button[type="submit"]');
    await p.waitForURL(/\/runs\/\d+$/);
    await hasText(p, '#head .badge', /succeeded|failed/);
    await p.goto(base + '/tasks/weekly-report');
    await p.fill('#run-form input[name="steps"]', '2');
    await p.click('#run-form button[type="submit"]');
    await p.waitForURL(/\/runs\/\d+$/);
    await hasText(p, '#head .badge', 'succeeded');
    await p.goto(base + '/tasks/greet');
    await p.fill('#run-form input[name="name"]', 'Ada');
    await p.selectOption('#run-form select[name="greeting"]',
      'Good morning');
    await p.fill('#run-form input[name="times"]', '3');
    await p.locator('#run-form button[type="submit"]').focus();
    await shot(p, 'page-task.png');
    await p.click('#run-form button[type="submit"]');
    await p.waitForURL(/\/runs\/\d+$/);
    await hasText(p, '#head .badge', 'succeeded');
    assert.strictEqual(await textOf(p, '#out'),
      'Good morning, Ada!\n'.repeat(3));
    await shot(p, 'page-run.png');
    await p.goto(base + '/');
    const shown = await p.locator('[id^="task-"]').evaluateAll((els) =>
      els.map((e) => e.id.slice(5)));
    const ours = fs.readdirSync(path.join(SRCDIR, 'tasks.d'))
      .filter((f) => f.endsWith('.sh')).map((f) => f.slice(0, -3));
    for (const name of shown)
      assert.ok(ours.includes(name), 'not an example task: ' + name);
    assert.ok(shown.includes('greet') && shown.includes('hello'), shown);
    await shot(p, 'page-index.png');
  } finally {
    await p.close();
  }
  const phone = await phoneContext();
  try {
    const p2 = await phone.newPage();
    await p2.goto(base + '/');
    await shot(p2, 'page-mobile.png', false);
  } finally {
    await phone.close();
  }
});

test('the CSP watch sees a violation (self-check)', async () => {
  const seen = problems.length;
  const p = await ctx.newPage();
  try {
    await p.goto(d.base + '/');
    await p.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__mlInjected = true;';
      document.body.appendChild(s);
    });
    await until(() => problems.slice(seen).some((x) =>
      /CSP violation: script-src/.test(x)), 'the violation to be reported');
    assert.strictEqual(await p.evaluate(() => window.__mlInjected), undefined,
      'an inline script without the nonce ran');
  } finally {
    await p.close();
    problems = problems.slice(0, seen);
  }
});

test('no console error, CSP violation or failed request', async () => {
  assert.deepStrictEqual(problems, []);
});

// Main --------------------------------------------------------------------

async function main() {
  if (!fs.existsSync(CHROMIUM))
    skipAll(CHROMIUM + ' is missing (Debian: apt-get install chromium)');
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    skipAll('playwright-core is missing (npm ci --prefix tests/browser)');
  }
  const started = Date.now();
  const since = () => ((Date.now() - started) / 1000).toFixed(1) + ' s';
  // A failure's screenshots of an earlier run would mislead.
  if (fs.existsSync(SHOTS)) {
    for (const f of fs.readdirSync(SHOTS)) {
      if (/^failure-\d+\.png$/.test(f))
        fs.rmSync(path.join(SHOTS, f), { force: true });
    }
  }
  const watchdog = setTimeout(() => {
    console.log('Bail out! the browser test took more than ' +
      DEADLINE / 1000 + ' s');
    if (problems.length)
      comment('problems seen:\n' + problems.join('\n'));
    killAll();
    process.exit(1);
  }, DEADLINE);
  console.log('1..' + TESTS.length);
  let failed = 0, n = 0, setupError = null;
  try {
    // A small max-log-size: one test writes past it.
    d = new Daemon({ conf: 'max-log-size 16K\n' });
    // The daemon and the browser start side by side.
    const [ds, bs] = await Promise.allSettled([d.start(),
      chromium.launch({ executablePath: CHROMIUM, headless: true,
        timeout: WAIT * 2,
        args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu',
          '--no-first-run', '--disable-background-networking',
          '--disable-component-update', '--disable-sync',
          '--disable-default-apps', '--password-store=basic',
          '--host-resolver-rules=MAP ' + PATH_HOST + ' 127.0.0.1'] })]);
    if (bs.status === 'fulfilled')
      browser = bs.value;
    if (ds.status === 'rejected')
      throw ds.reason;
    if (bs.status === 'rejected')
      throw bs.reason;
    comment('microlightd and chromium started in ' + since());
    ctx = await browser.newContext({ viewport: { width: 1120, height: 800 },
      colorScheme: 'light', reducedMotion: 'reduce', locale: 'en-US' });
    ctx.setDefaultTimeout(WAIT);
    await watch(ctx, 'main');
    page = await ctx.newPage();
  } catch (e) {
    setupError = e;
  }
  // ML_BROWSER_ONLY=3,5 runs only those (for debugging); the rest skip.
  const only = (process.env.ML_BROWSER_ONLY || '').split(',').filter(Boolean)
    .map(Number);
  for (const t of TESTS) {
    n++;
    if (only.length && !only.includes(n)) {
      console.log('ok ' + n + ' - ' + t.name + ' # SKIP not in ML_BROWSER_ONLY');
      continue;
    }
    const t0 = Date.now(), seen = problems.length;
    if (setupError) {
      failed++;
      console.log('not ok ' + n + ' - ' + t.name);
      comment(n === 1 ? 'setting up: ' + (setupError.stack || setupError) :
        'setting up failed (see above)');
      continue;
    }
    try {
      await t.fn();
      console.log('ok ' + n + ' - ' + t.name + ' (' +
        ((Date.now() - t0) / 1000).toFixed(1) + ' s)');
    } catch (e) {
      failed++;
      console.log('not ok ' + n + ' - ' + t.name);
      comment(e && e.stack || e);
      if (problems.length > seen)
        comment('meanwhile:\n' + problems.slice(seen).join('\n'));
      if (page) {
        comment('at ' + page.url());
        try {
          await shot(page, 'failure-' + n + '.png');
          comment('screenshot: ' + path.join(SHOTS, 'failure-' + n +
            '.png'));
        } catch (e2) { /* nothing more to show */ }
      }
    }
  }
  comment('the tests took until ' + since());
  try {
    if (browser)
      await browser.close();
  } catch (e) {
    comment('closing the browser: ' + e);
  }
  if (proxy)
    proxy.close();
  for (const x of [d, under, examples]) {
    try {
      if (x)
        await x.stop();
    } catch (e) {
      failed++;
      console.log('Bail out! ' + String(e && e.message || e).split('\n')[0]);
      comment(e && e.stack || e);
    }
  }
  clearTimeout(watchdog);
  comment('screenshots in ' + SHOTS);
  comment('took ' + since());
  process.exit(failed ? 1 : 0);
}

// Whatever happens, no daemon and no scratch directory are left behind.
function killAll() {
  for (const x of [d, under, examples]) {
    if (x)
      x.kill();
  }
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    killAll();
    process.exit(1);
  });
}
process.on('uncaughtException', (e) => {
  killAll();
  try {
    console.log('Bail out! ' + (e && e.stack || e));
  } catch (e2) { /* no one to tell */ }
  process.exit(1);
});
process.stdout.on('error', () => {});

main().catch((e) => {
  console.log('Bail out! ' + (e && e.stack || e));
  killAll();
  process.exit(1);
});
