// Drives Debian's chromium through playwright-core against a running Watchkeeper: sign in, see a
// service up, make its target fail, see the card go down without a reload, and (when the server
// manages incidents) acknowledge the incident with the button. Called by
// test_dashboard_browser.py with one JSON argument:
//   {base_url, token, service, target_url, live_budget_ms, screenshot_dir, node_modules,
//    chromium, incidents}
// Prints "RESULT <json>" on success; exits 1 with the reason otherwise.

import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const config = JSON.parse(process.argv[2] || '{}');
for (const key of ['base_url', 'token', 'service', 'target_url', 'screenshot_dir', 'node_modules', 'chromium'])
  if (!config[key]) fail(`missing argument '${key}'`);

function fail(message) {
  console.error(`browser test: ${message}`);
  process.exit(1);
}

function step(message) {
  console.log(`[${new Date().toISOString()}] ${message}`);
}

const { chromium } = createRequire(join(config.node_modules, '..', 'package.json'))('playwright-core');
mkdirSync(config.screenshot_dir, { recursive: true });

const browser = await chromium.launch({
  executablePath: config.chromium,
  // Root in a container has no user namespaces for chromium's sandbox. The machine's network is
  // closed: without the background-networking flags chromium keeps dialling Google's hosts.
  args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-quic',
         '--no-first-run', '--disable-background-networking', '--disable-component-update',
         '--disable-sync'],
});
const result = { screenshots: [] };
let page;

async function screenshot(name) {
  const path = join(config.screenshot_dir, name);
  await page.screenshot({ path, fullPage: true });
  result.screenshots.push(path);
  step(`screenshot ${path}`);
}

try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') step(`console error: ${message.text()} (${message.location().url || '?'})`);
  });

  step('loading /dashboard');
  const response = await page.goto(`${config.base_url}/dashboard`, { waitUntil: 'load' });
  if (!response || response.status() !== 200)
    throw new Error(`/dashboard answered ${response ? response.status() : 'nothing'}`);
  if ((await page.title()) !== 'Watchkeeper') throw new Error(`unexpected title '${await page.title()}'`);

  step('signing in');
  await page.fill('#token-input', config.token);
  await page.click('#login-button');
  await page.waitForSelector('#session:not([hidden])', { timeout: 5000 });
  const stored = await page.evaluate(() => localStorage.getItem('watchkeeper.token'));
  if (stored !== config.token) throw new Error('the token was not kept in localStorage');

  await page.waitForSelector('#conn[data-state="live"]', { timeout: 15000 })
    .catch(async () => {
      throw new Error(`the WebSocket never went live: header says '${await page.textContent('#conn')}'`);
    });
  step(`connection: ${await page.textContent('#conn')}`);

  const card = `[data-service="${config.service}"]`;
  await page.waitForSelector(`${card}[data-state="up"]`, { timeout: 20000 })
    .catch(async () => {
      const state = await page.getAttribute(card, 'data-state').catch(() => null);
      throw new Error(`service '${config.service}' never showed up (card state: ${state})`);
    });
  step(`service '${config.service}' is up`);
  // The chart's plain selector is narrowed on the server: its own metrics topic, live points.
  await page.waitForSelector('#query-status[data-live-samples]', { timeout: 10000 })
    .catch(async () => {
      throw new Error(`no live samples reached the chart (topic '${
        await page.getAttribute('#query-status', 'data-topic')}')`);
    });
  const topic = await page.getAttribute('#query-status', 'data-topic');
  // The page selects the first service by name; its default query is probe_duration_seconds.
  if (!/^metrics:([^{]+)\{__name__="probe_duration_seconds",service="\1"\}$/.test(topic))
    throw new Error(`the chart subscribed to '${topic}', not a selector topic`);
  step(`chart streams '${topic}'`);
  await page.waitForSelector(`[data-node="${config.service}"]`, { timeout: 5000 });
  await screenshot('dashboard-up.png');

  // A reload would lose this; the live path keeps it.
  await page.evaluate(() => { window.__wkSameDocument = true; });
  const failAt = Date.now();
  const control = await fetch(`${config.target_url}/control/fail`, { method: 'POST' });
  if (!control.ok) throw new Error(`target /control/fail answered ${control.status}`);
  step('target is failing');

  await page.waitForSelector(`${card}[data-state="down"]`, { timeout: config.live_budget_ms })
    .catch(async () => {
      const state = await page.getAttribute(card, 'data-state').catch(() => null);
      throw new Error(`the card did not turn down within ${config.live_budget_ms} ms (state: ${state})`);
    });
  result.live_ms = Date.now() - failAt;
  step(`card turned down ${result.live_ms} ms after the target failed`);
  if (!(await page.evaluate(() => window.__wkSameDocument === true)))
    throw new Error('the page reloaded instead of updating live');
  await page.waitForSelector(`${card} [data-check][data-state="down"]`, { timeout: 2000 });
  await page.waitForSelector(`[data-node="${config.service}"][data-state="down"]`, { timeout: 2000 });
  await screenshot('dashboard-down.png');

  if (config.incidents) {
    step('waiting for the incident');
    const row = `tr[data-incident]:has-text("${config.service}")`;
    await page.waitForSelector(`${row}[data-status="triggered"]`, { timeout: 30000 })
      .catch(() => { throw new Error(`no triggered incident for '${config.service}' appeared`); });
    result.incident_id = await page.getAttribute(`${row}[data-status="triggered"]`, 'data-incident');
    const triggered = `tr[data-incident="${result.incident_id}"]`;
    await page.click(`${triggered} button[data-action="acknowledge"]`);
    await page.waitForSelector(`${triggered}[data-status="acknowledged"]`, { timeout: 10000 })
      .catch(async () => {
        throw new Error(`incident ${result.incident_id} did not turn acknowledged: ` +
                        `'${await page.textContent('#incidents .feedback')}'`);
      });
    step(`incident ${result.incident_id} acknowledged from the button`);
    await screenshot('dashboard-acknowledged.png');
  }

  if (pageErrors.length) throw new Error(`uncaught errors in the page: ${pageErrors.join(' | ')}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
} catch (error) {
  if (page) await screenshot('dashboard-failure.png').catch(() => {});
  await browser.close();
  fail(error.message);
}
await browser.close();
