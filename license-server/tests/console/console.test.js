// The console in headless Chromium against a live `fount-server demo`: signing in (and a
// wrong password, and the lock after repeated failures), an operator's stores and settings, an
// API key made in the console used on the API and revoked, forged and cross-store requests
// refused, staff kept to their store on every page and form. Each page is checked with
// axe-core and screenshotted at phone and desktop widths into artifacts/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const untimedFetch = globalThis.fetch;
globalThis.fetch = (url, init = {}) => untimedFetch(url, { signal: AbortSignal.timeout(30_000), ...init });

const demo = JSON.parse(readFileSync(process.env.FOUNT_DEMO_JSON, 'utf8'));
const base = demo.base_url;
const data = process.env.FOUNT_DEMO_JSON.replace(/\/demo\.json$/, '');
const artifacts = fileURLToPath(new URL('../../../artifacts/', import.meta.url));
mkdirSync(artifacts, { recursive: true });

/** `fount-server ARGS --data <the demo's>`, as an operator runs it; its stdout. */
function cli(args, input) {
  return execFileSync(process.env.FOUNT_SERVER_BIN, [...args, '--data', data], {
    input, env: { ...process.env, FOUNT_LOG: 'warn' }, timeout: 60_000,
  }).toString().trim();
}

const PASSWORD = 'a long and careful passphrase';
const account = (email, role, store) =>
  cli(['console', 'user', 'add', '--email', email, '--role', role, ...(store ? ['--store', store] : []), '--password-stdin'], `${PASSWORD}\n`);

let browser;
let staffStore;
let otherStore;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  staffStore = JSON.parse(cli(['store', 'create', '--name', 'Riverside Audio'])).id;
  otherStore = JSON.parse(cli(['store', 'create', '--name', 'Hilltop Books'])).id;
  account('op@fount.example', 'operator');
  account('staff@riverside.example', 'staff', staffStore);
  account('locked@fount.example', 'operator');
});
after(async () => { await browser?.close(); });

async function newPage(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  return context.newPage();
}

/** Signs in on a new page; resolves on the page signing-in leads to. */
async function signIn(email, password = PASSWORD) {
  const page = await newPage();
  await page.goto(`${base}/console`);
  assert.match(page.url(), /\/console\/sign-in$/, 'signed out, the console sends to sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  // The page the form leads to, not the sign-in page still loaded when the click returns:
  // `waitForLoadState` after the click resolved at once on the old page when the post was slow.
  await Promise.all([
    page.waitForEvent('load', { timeout: 30_000 }),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  return page;
}

/** No serious or critical axe-core violation on the page as it is. */
async function accessible(page, what) {
  await page.addScriptTag({ content: axeSource }).catch(async () => {
    // The console's CSP forbids inline scripts: evaluate the source instead.
    await page.evaluate(axeSource);
  });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`), [], `${what}: axe-core`);
}

/** Screenshots at phone and desktop widths, as artifacts/console-<name>-{phone,desktop}.png. */
async function screenshots(page, name) {
  for (const [size, viewport] of [['phone', { width: 375, height: 740 }], ['desktop', { width: 1280, height: 800 }]]) {
    await page.setViewportSize(viewport);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${name} is ${overflow}px wider than a ${size}`);
    await page.screenshot({ path: `${artifacts}console-${name}-${size}.png`, fullPage: true });
  }
}

/** A form post from the signed-in page's cookies (as a forger or a curious staff member would try). */
async function post(page, path, form) {
  return page.request.post(`${base}${path}`, { form, maxRedirects: 0, timeout: 30_000 });
}

async function csrfOf(page) {
  return page.locator('input[name=csrf]').first().inputValue();
}

test('a wrong password and an unknown email are refused alike; the sign-in page is accessible', async () => {
  const page = await signIn('op@fount.example', 'not the password at all');
  assert.match(page.url(), /\/console\/sign-in$/);
  const wrong = await page.getByRole('alert').textContent();
  assert.match(wrong, /do not match an account/);
  await accessible(page, 'sign-in with an error');
  await screenshots(page, 'sign-in-error');
  await page.context().close();
  const unknown = await signIn('nobody@fount.example', 'not the password at all');
  assert.equal(await unknown.getByRole('alert').textContent(), wrong);
  await unknown.context().close();
});

test('repeated failures lock the account, even with the right password', async () => {
  for (let i = 0; i < 5; i += 1) {
    const page = await signIn('locked@fount.example', `wrong password number ${i}`);
    await page.context().close();
  }
  const page = await signIn('locked@fount.example');
  assert.match(page.url(), /\/console\/sign-in$/);
  assert.match(await page.locator('h1').textContent(), /Please wait/);
  assert.match(await page.locator('main').textContent(), /try again in \d+ seconds/);
  await screenshots(page, 'locked');
  await page.context().close();
});

test('an operator signs in, makes a store key, uses it on the API, and revokes it', async () => {
  const page = await signIn('op@fount.example');
  assert.equal(page.url(), `${base}/console`, await page.locator('main').textContent());
  await page.getByRole('heading', { name: 'Stores' }).waitFor();
  await accessible(page, 'stores');
  await screenshots(page, 'stores');
  await page.getByRole('link', { name: 'Riverside Audio' }).click();
  await page.getByRole('heading', { name: 'Riverside Audio' }).waitFor();
  await accessible(page, 'store');
  await screenshots(page, 'store');

  // Settings, saved and seen by the API.
  await page.getByLabel('Devices per customer').fill('3');
  await page.getByLabel('Days between a listener').fill('2');
  await page.getByLabel('Sites that may show the player').fill('https://riverside.example\nhttps://Shop.Riverside.example/');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Settings saved.').waitFor();

  await page.getByLabel('Label').fill('backend');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const key = (await page.locator('#new-key').textContent()).trim();
  assert.match(key, /^fsk_[0-9a-f]{16}_/);
  await accessible(page, 'store with a new key');
  await screenshots(page, 'new-key');
  const api = (path) => fetch(`${base}${path}`, { headers: { authorization: `Bearer ${key}` } });
  const store = await (await api('/v1/store')).json();
  assert.equal(store.id, staffStore);
  assert.equal(store.device_limit, 3);
  assert.equal(store.device_removal_wait_seconds, 2 * 86400);
  assert.deepEqual(store.allowed_origins, ['https://riverside.example', 'https://shop.riverside.example']);
  // The key is shown once: a reload shows its id only.
  await page.goto(`${base}/console/stores/${staffStore}`);
  assert.ok(!(await page.content()).includes(key));

  const events = await (await api('/v1/events?types=api_key.created,store.updated')).json();
  assert.deepEqual(events.items.map((e) => [e.type, e.actor]), [
    ['store.updated', 'console:op@fount.example'],
    ['api_key.created', 'console:op@fount.example'],
  ]);
  assert.ok(!JSON.stringify(events).includes(key.split('_')[2]), 'no event holds the secret');

  await page.getByRole('button', { name: `Revoke key ${key.split('_')[1]}` }).click();
  await page.getByText('The key is revoked').waitFor();
  assert.equal((await api('/v1/store')).status, 401);
  await page.context().close();
});

test('forms without the session token are refused, and signing out ends the session', async () => {
  const page = await signIn('op@fount.example');
  const path = `/console/stores/${otherStore}/settings`;
  const form = { name: 'Hijacked', device_limit: '1', offline_days: '7', removal_wait_days: '0', origins: '' };
  assert.equal((await post(page, path, { ...form, csrf: 'forged' })).status(), 403);
  assert.equal((await post(page, path, form)).status(), 422);
  const csrf = await csrfOf(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/console\/sign-in$/);
  // The old session's cookie is gone from the browser, and the session from the server.
  const again = await post(page, path, { ...form, csrf });
  assert.equal(again.status(), 303);
  assert.match(again.headers().location, /\/console\/sign-in$/);
  await page.context().close();
});

test("a store's staff see their store only, on every page and form", async () => {
  const page = await signIn('staff@riverside.example');
  assert.equal(page.url(), `${base}/console/stores/${staffStore}`);
  assert.equal(await page.getByRole('link', { name: 'All stores' }).count(), 0);
  await accessible(page, 'store as staff');
  await screenshots(page, 'store-staff');
  const csrf = await csrfOf(page);

  // Another store, and the operator's pages: not found, exactly as what does not exist.
  const gone = async (path) => {
    const r = await page.request.get(`${base}${path}`, { maxRedirects: 0, timeout: 30_000 });
    return r.status();
  };
  assert.equal(await gone(`/console/stores/${otherStore}`), 404);
  assert.equal(await gone('/console/stores/no-such-store'), 404);
  assert.equal((await page.request.get(`${base}/console`, { maxRedirects: 0 })).status(), 303);
  const form = { csrf, name: 'Mine now', device_limit: '1', offline_days: '7', removal_wait_days: '0', origins: '' };
  assert.equal((await post(page, `/console/stores/${otherStore}/settings`, form)).status(), 404);
  assert.equal((await post(page, `/console/stores/${otherStore}/keys`, { csrf, label: 'x' })).status(), 404);
  assert.equal((await post(page, '/console/stores', { csrf, name: 'Another', device_limit: '5' })).status(), 404);

  // A key of the other store, revoked through this store's path: not found, and still valid.
  const otherKey = cli(['apikey', 'create', '--store', otherStore]);
  const otherId = otherKey.split('_')[1];
  assert.equal((await post(page, `/console/stores/${staffStore}/keys/${otherId}/revoke`, { csrf })).status(), 404);
  assert.equal((await post(page, `/console/stores/${otherStore}/keys/${otherId}/revoke`, { csrf })).status(), 404);
  const still = await fetch(`${base}/v1/store`, { headers: { authorization: `Bearer ${otherKey}` } });
  assert.equal(still.status, 200);
  assert.equal((await still.json()).name, 'Hilltop Books');

  // Their own store's settings and keys are theirs to change.
  await page.getByLabel('Name', { exact: true }).fill('Riverside Audio Books');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Settings saved.').waitFor();
  await page.getByRole('heading', { name: 'Riverside Audio Books' }).waitFor();

  const notFound = await newPage();
  await notFound.context().addCookies(await page.context().cookies());
  await notFound.goto(`${base}/console/stores/${otherStore}`);
  assert.match(await notFound.locator('h1').textContent(), /Not found/);
  await accessible(notFound, 'not found');
  await screenshots(notFound, 'not-found');
  await notFound.context().close();
  await page.context().close();
});

test('an operator finds a customer, grants and revokes a title, and removes a device', async () => {
  const key = cli(['apikey', 'create', '--store', otherStore]);
  const api = (method, path, body, bearer = key) => fetch(`${base}${path}`, {
    method, headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
  });
  const title = await (await api('POST', '/v1/titles', { title: 'The Hill' })).json();
  const page = await signIn('op@fount.example');
  await page.goto(`${base}/console/stores/${otherStore}/customers?customer=ruth`);
  assert.match(await page.locator('main').textContent(), /No customer ruth/);
  // The store's backend makes her: a token, and a device from her app.
  const { token } = await (await api('POST', '/v1/customers/ruth/tokens', {})).json();
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign']);
  const { kty, crv, x, y } = await crypto.subtle.exportKey('jwk', pair.publicKey);
  assert.equal((await api('POST', '/v1/me/devices', { jwk: { kty, crv, x, y }, name: "Ruth's phone" }, token)).status, 201);

  await page.getByLabel('Customer').fill('ruth');
  await page.getByRole('button', { name: 'Find' }).click();
  await page.getByRole('heading', { name: 'ruth' }).waitFor();
  await page.getByLabel('Title', { exact: true }).selectOption(title.id);
  await page.getByRole('button', { name: 'Grant' }).click();
  await page.getByText('Granted: the customer can listen now.').waitFor();
  await accessible(page, 'customer');
  await screenshots(page, 'customer');
  let grants = await (await api('GET', '/v1/entitlements?customer=ruth')).json();
  assert.deepEqual(grants.items.map((g) => [g.title, g.source, g.revoked_at]), [[title.id, 'console', null]]);

  await page.getByRole('button', { name: 'Revoke The Hill' }).click();
  await page.getByText('Revoked, with the licenses').waitFor();
  grants = await (await api('GET', '/v1/entitlements?customer=ruth')).json();
  assert.ok(grants.items[0].revoked_at);

  await page.getByRole('button', { name: "Remove Ruth's phone" }).click();
  await page.getByText('The device is removed').waitFor();
  const devices = await (await api('GET', '/v1/customers/ruth/devices')).json();
  assert.deepEqual(devices.items.map((d) => [d.status, d.revoked_by]), [['revoked', 'store']]);
  const events = await (await api('GET', '/v1/events?types=entitlement.granted,entitlement.revoked,device.revoked')).json();
  assert.deepEqual(events.items.map((e) => [e.type, e.actor]), [
    ['entitlement.granted', 'console:op@fount.example'],
    ['entitlement.revoked', 'console:op@fount.example'],
    ['device.revoked', 'console:op@fount.example'],
  ]);
  await page.context().close();
});

test('an operator sees the queue and rotates the signing key; staff reach neither', async () => {
  const page = await signIn('op@fount.example');
  await page.getByRole('link', { name: 'Jobs' }).click();
  await page.getByRole('heading', { name: 'Jobs', exact: true }).waitFor();
  assert.match(await page.locator('table', { hasText: 'Oldest wait' }).textContent(), /webhook\.deliver/);
  await accessible(page, 'jobs');
  await screenshots(page, 'jobs');

  const before = (await (await fetch(`${base}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid);
  await page.getByRole('link', { name: 'Signing keys' }).click();
  await page.getByRole('heading', { name: 'Signing keys', exact: true }).waitFor();
  await page.getByRole('button', { name: /Rotate/ }).click();
  await page.getByText('A new key signs from now on').waitFor();
  await accessible(page, 'signing keys');
  await screenshots(page, 'signing-keys');
  const rows = await page.locator('tbody tr').allTextContents();
  assert.equal(rows.length, before.length + 1);
  assert.match(rows[0], /Signs new licenses/);
  const after = (await (await fetch(`${base}/.well-known/jwks.json`)).json()).keys.map((k) => k.kid);
  assert.equal(after.length, before.length + 1, 'the new key is published');
  await page.context().close();

  const staff = await signIn('staff@riverside.example');
  const csrf = await csrfOf(staff);
  for (const path of ['/console/jobs', '/console/signing-keys', `/console/stores/${otherStore}/customers?customer=ruth`]) {
    assert.equal((await staff.request.get(`${base}${path}`, { maxRedirects: 0 })).status(), 404, path);
  }
  assert.equal((await post(staff, '/console/signing-keys/rotate', { csrf })).status(), 404);
  assert.equal((await post(staff, '/console/jobs/job_nope/retry', { csrf })).status(), 404);
  const grantForm = { csrf, customer: 'ruth', title: 'x', kind: 'purchase' };
  assert.equal((await post(staff, `/console/stores/${otherStore}/grants`, grantForm)).status(), 404);
  assert.equal((await post(staff, `/console/stores/${otherStore}/devices/remove`, { csrf, customer: 'ruth', device: 'x' })).status(), 404);
  // Another store's entitlement, through the staff's own store: not found.
  const otherKey = cli(['apikey', 'create', '--store', otherStore]);
  const grants = await (await fetch(`${base}/v1/entitlements?customer=ruth`, { headers: { authorization: `Bearer ${otherKey}` } })).json();
  assert.equal((await post(staff, `/console/stores/${staffStore}/entitlements/${grants.items[0].id}/revoke`, { csrf })).status(), 404);
  assert.equal(
    (await staff.request.get(`${base}/console/stores/${staffStore}/customers?customer=ruth`)).status(), 200,
    'their own store has no ruth, and says so',
  );
  assert.equal(await staff.getByRole('link', { name: 'Jobs' }).count(), 0);
  await staff.context().close();
});

/** A key of `store` and a JSON caller of the store API with it. */
function storeApi(store) {
  const key = cli(['apikey', 'create', '--store', store]);
  return (method, path, body, bearer = key) => fetch(`${base}${path}`, {
    method, headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
  });
}

/** A local HTTP server answering `handler`; resolves to { url, close }. */
async function serve(handler) {
  const server = createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Closing ends the kept-alive connections too: the server's webhook sender keeps one open,
  // and close() alone would wait for it for ever.
  const close = () => new Promise((r) => { server.close(r); server.closeAllConnections(); });
  return { url: `http://127.0.0.1:${server.address().port}`, close };
}

/** Polls `check` every 200 ms until it returns a truthy value, for at most `ms`. */
async function until(what, check, ms = 30_000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    assert.ok(Date.now() < end, `${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('a title is made, a track uploaded with a progress bar and followed to published, and taken off sale', async () => {
  const api = storeApi(staffStore);
  const page = await signIn('staff@riverside.example');
  await page.getByRole('link', { name: 'Titles' }).click();
  await page.getByRole('heading', { name: 'Titles', exact: true }).waitFor();
  await accessible(page, 'titles (none)');
  await page.getByLabel('Name').fill('The River Road');
  await page.getByLabel('Author').fill('Ada Brook');
  await page.getByLabel('Price').fill('9.99');
  await page.getByLabel('Currency').fill('eur');
  await page.getByRole('button', { name: 'Create title' }).click();
  await page.getByText('The title is made.').waitFor();
  const titleId = page.url().match(/titles\/([^/?]+)/)[1];

  // Slow the upload down so that the bar is seen moving.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 8 * 1024 });
  await page.getByLabel('Track name').fill('Chapter one');
  await page.getByLabel('Audio file').setInputFiles(fileURLToPath(new URL('../media/chapters.mp3', import.meta.url)));
  await page.getByRole('button', { name: 'Upload' }).click();
  const bar = page.locator('#upload-bar');
  await bar.waitFor();
  const midway = await until('the bar moves', async () => {
    const v = Number(await bar.getAttribute('value').catch(() => '0'));
    return v > 0 && v < 100 ? v : 0;
  });
  assert.ok(midway > 0 && midway < 100);
  await screenshots(page, 'title-uploading');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
  await page.getByText('Uploaded: the track is being prepared').waitFor({ timeout: 60_000 });
  // The page follows the track on its own, with no reload, to published.
  const url = page.url();
  await page.locator('tr.track', { hasText: 'Published' }).waitFor({ timeout: 60_000 });
  assert.equal(page.url(), url, 'followed in place');
  const row = await page.locator('tr.track').textContent();
  assert.match(row, /Chapter one/);
  assert.match(row, /\d+:\d\d/, 'its length');
  await accessible(page, 'title');
  await screenshots(page, 'title');
  const title = await (await api('GET', `/v1/titles/${titleId}`)).json();
  assert.deepEqual(title.tracks.map((t) => [t.name, t.status]), [['Chapter one', 'published']]);
  assert.equal(title.price, '9.99');
  assert.equal(title.currency, 'EUR');

  // A file that is not audio fails, and says why.
  await page.getByLabel('Audio file').setInputFiles({ name: 'notes.mp3', mimeType: 'audio/mpeg', buffer: Buffer.from('not audio at all, only words') });
  await page.getByRole('button', { name: 'Upload' }).click();
  await until('the refusal is shown', async () => /audio|format|recogni/i.test(await page.locator('.upload-percent').textContent()));

  // Off sale: the API refuses new grants; back on sale, they pass again.
  await page.getByRole('button', { name: 'Take off sale' }).click();
  await page.getByText('The title is off sale').waitFor();
  const refused = await api('POST', '/v1/entitlements', { customer: 'zoe', title: titleId, kind: 'purchase' });
  assert.equal(refused.status, 409);
  await page.getByRole('button', { name: 'Put on sale' }).click();
  await page.getByText('The title is on sale.').waitFor();
  assert.equal((await api('POST', '/v1/entitlements', { customer: 'zoe', title: titleId, kind: 'purchase' })).status, 201);
  await page.getByRole('link', { name: 'All titles' }).click();
  await page.getByRole('link', { name: 'The River Road' }).waitFor();
  await accessible(page, 'titles');
  await screenshots(page, 'titles');
  await page.context().close();
});

test('a payment that named no customer is assigned in the console, and the customer has the title', async () => {
  const api = storeApi(otherStore);
  const title = await (await api('POST', '/v1/titles', { title: 'Hill Songs', price: '4.50', currency: 'EUR' })).json();
  const page = await signIn('op@fount.example');
  await page.goto(`${base}/console/stores/${otherStore}/titles/${title.id}`);
  await page.getByLabel('Stripe Payment Link').fill('plink_hillsongs1');
  await page.getByRole('button', { name: 'Save details' }).click();
  await page.getByText('Details saved.').waitFor();
  const secret = 'whsec_consoletest0123456789';
  await page.goto(`${base}/console/stores/${otherStore}`);
  await page.getByLabel('Stripe webhook signing secret').fill(secret);
  await page.getByRole('button', { name: 'Save settings' }).click();
  await page.getByText('Settings saved.').waitFor();
  assert.match(await page.locator('#stripe-help').textContent(), /^Set\./);

  // Stripe reports a paid checkout of the link by someone not signed in.
  const event = JSON.stringify({
    id: 'evt_console_1', type: 'checkout.session.completed',
    data: { object: { id: 'cs_console_1', payment_link: 'plink_hillsongs1', payment_status: 'paid', payment_intent: 'pi_console_1', amount_total: 450, currency: 'eur', customer_details: { email: 'walker@example.com' } } },
  });
  const t = Math.floor(Date.now() / 1000);
  const signature = createHmac('sha256', secret).update(`${t}.${event}`).digest('hex');
  const hook = await fetch(`${base}/v1/stores/${otherStore}/webhooks/stripe`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${signature}` }, body: event,
  });
  assert.equal(hook.status, 200, await hook.text());

  await page.getByRole('link', { name: 'Payments' }).click();
  const row = page.locator('tr.payment', { hasText: 'walker@example.com' });
  await row.waitFor();
  assert.match(await row.textContent(), /4\.50 EUR/);
  assert.match(await row.textContent(), /Hill Songs/);
  await accessible(page, 'payments');
  await screenshots(page, 'payments');
  await row.getByLabel('Customer').fill('walker');
  await row.getByRole('button', { name: 'Assign' }).click();
  await page.getByText('Assigned: the customer has the title now.').waitFor();
  const grants = await (await api('GET', '/v1/entitlements?customer=walker')).json();
  assert.deepEqual(grants.items.map((g) => [g.title, g.source]), [[title.id, 'stripe']]);
  const payment = (await (await api('GET', '/v1/payments')).json()).items.find((p) => p.reference === 'cs_console_1');
  assert.equal(payment.status, 'granted');
  const events = await (await api('GET', '/v1/events?types=payment.assigned')).json();
  assert.deepEqual(events.items.map((e) => e.actor), ['console:op@fount.example']);
  await page.context().close();
});

test('webhooks: an endpoint added in the console, a delivery sent again, and the event log followed live', async () => {
  const api = storeApi(otherStore);
  const received = [];
  const receiver = await serve((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { received.push({ id: req.headers['webhook-id'], body }); res.writeHead(204).end(); });
  });
  try {
    const page = await signIn('op@fount.example');
    await page.goto(`${base}/console/stores/${otherStore}/webhooks`);
    await page.getByLabel('URL').fill(`${receiver.url}/hooks`);
    await page.getByLabel('Description').fill('The shop backend');
    await page.getByRole('button', { name: 'Add endpoint' }).click();
    const secret = (await page.locator('#new-secret').textContent()).trim();
    assert.match(secret, /^whsec_/);
    const made = await (await api('GET', '/v1/events?types=webhook_endpoint.created')).json();
    assert.deepEqual(made.items.map((e) => [e.data.webhook_endpoint.url, e.actor]), [[`${receiver.url}/hooks`, 'console:op@fount.example']]);
    assert.ok(!JSON.stringify(made).includes(secret.slice(6)), 'the event never holds the secret');
    await accessible(page, 'webhooks with a new secret');
    await screenshots(page, 'webhooks');

    // The event log, followed live: a grant made meanwhile appears without a reload.
    await page.getByRole('link', { name: 'Events' }).click();
    await page.getByLabel('Type').selectOption('entitlement.granted');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('button', { name: 'Follow live' }).click();
    assert.equal(await page.getByRole('button', { name: 'Following live' }).getAttribute('aria-pressed'), 'true');
    const url = page.url();
    const title = await (await api('POST', '/v1/titles', { title: 'Live Title' })).json();
    const grant = await (await api('POST', '/v1/entitlements', { customer: 'lee', title: title.id, kind: 'purchase' })).json();
    const row = page.locator('tr.event', { hasText: 'entitlement.granted' }).first();
    await until('the new event is shown', async () => (await row.textContent().catch(() => '')).includes(grant.id), 20_000);
    assert.equal(page.url(), url, 'no reload');
    assert.equal(await page.locator('tr.event', { hasText: 'title.created' }).count(), 0, 'the filter holds');
    await accessible(page, 'events');
    await screenshots(page, 'events');

    // The receiver got the grant; the console sends it again with the same webhook-id.
    const first = await until('delivered', () => received.find((r) => r.body.includes(grant.id)));
    await page.goto(`${base}/console/stores/${otherStore}/webhooks`);
    await page.getByRole('link', { name: `${receiver.url}/hooks` }).click();
    const delivery = page.locator('tr.delivery', { hasText: first.id });
    await delivery.waitFor();
    await accessible(page, 'webhook deliveries');
    await screenshots(page, 'webhook');
    await delivery.getByRole('button', { name: `Deliver again: ${first.id}` }).click();
    await page.getByText('Queued: the event is being delivered again.').waitFor();
    await until('delivered again', () => received.filter((r) => r.id === first.id).length === 2);
    await page.getByRole('button', { name: 'Replay every event' }).click();
    await page.getByText('Queued: every kept event').waitFor();
    await until('replayed', () => received.filter((r) => r.id === first.id).length === 3);
    await page.context().close();
  } finally {
    await receiver.close();
  }
});

test('feeds: status, items and a sync started from the console', async () => {
  const api = storeApi(otherStore);
  const audio = readFileSync(fileURLToPath(new URL('../media/chapters.mp3', import.meta.url)));
  let reads = 0;
  const site = await serve((req, res) => {
    if (req.url === '/feed.xml') {
      reads += 1;
      res.writeHead(200, { 'content-type': 'application/rss+xml' }).end(`<?xml version="1.0"?>
<rss version="2.0"><channel><title>Hill Radio</title><link>${site.url}/</link><description>Songs</description>
<item><title>Episode one</title><guid>ep-1</guid><enclosure url="${site.url}/ep1.mp3" length="${audio.length}" type="audio/mpeg"/></item>
</channel></rss>`);
    } else if (req.url === '/ep1.mp3') {
      res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-length': audio.length }).end(audio);
    } else {
      res.writeHead(404).end();
    }
  });
  try {
    const feed = await (await api('POST', '/v1/feeds', { url: `${site.url}/feed.xml` })).json();
    assert.ok(feed.id, JSON.stringify(feed));
    const page = await signIn('op@fount.example');
    await page.goto(`${base}/console/stores/${otherStore}/feeds`);
    await until('read once', async () => {
      await page.reload();
      return (await page.locator('tr.feed').textContent()).includes('Hill Radio');
    });
    const before = reads;
    await page.getByRole('button', { name: 'Sync now: Hill Radio' }).click();
    await page.getByText('A sync is queued').waitFor();
    await until('read again', () => reads > before);
    await accessible(page, 'feeds');
    await screenshots(page, 'feeds');
    await page.getByRole('link', { name: 'Hill Radio' }).click();
    await until('the item is published', async () => {
      await page.reload();
      return /Episode one[\s\S]*published/.test(await page.locator('main').textContent());
    }, 60_000);
    await accessible(page, 'feed');
    await screenshots(page, 'feed');
    await page.context().close();
  } finally {
    await site.close();
  }
});

test("the overview's charts show licenses, listeners and webhook success; the queue's depth is charted", async () => {
  const api = storeApi(otherStore);
  // The webhook test's receiver is gone: stop its endpoint so the count holds still, then
  // count its attempts as the API reports them.
  const hook = (await (await api('GET', '/v1/webhooks')).json()).items[0];
  assert.equal((await api('PATCH', `/v1/webhooks/${hook.id}`, { enabled: false })).status, 200);
  await new Promise((r) => setTimeout(r, 1000));
  const attempts = (await (await api('GET', `/v1/webhooks/${hook.id}/attempts?limit=200`)).json()).items;
  const ok = attempts.filter((a) => a.status_code >= 200 && a.status_code < 300).length;
  const share = `${Math.round((ok / attempts.length) * 100)} % of ${attempts.length} attempts`;
  const title = await (await api('POST', '/v1/titles', { title: 'Counted' })).json();
  await api('POST', '/v1/entitlements', { customer: 'mia', title: title.id, kind: 'purchase' });
  const { token } = await (await api('POST', '/v1/customers/mia/tokens', {})).json();
  assert.equal((await api('PUT', `/v1/me/positions/${title.id}`, { seconds: 42 }, token)).status, 200);
  const page = await signIn('op@fount.example');
  await page.goto(`${base}/console/stores/${otherStore}/overview`);
  const figures = page.locator('figure.chart-box');
  assert.equal(await figures.count(), 3);
  for (const id of ['licenses', 'listeners', 'webhooks']) {
    assert.equal(await page.locator(`#${id} svg rect.bar`).count(), 30, id);
  }
  // Today's listeners: mia (and whoever else listened to this store today).
  await page.locator('#listeners summary').click();
  const today = await page.locator('#listeners tbody tr').last().textContent();
  assert.ok(Number(today.match(/(\d+)$/)[1]) >= 1, today);
  await page.locator('#webhooks summary').click();
  assert.ok((await page.locator('#webhooks tbody tr').last().textContent()).endsWith(share), share);
  await accessible(page, 'overview');
  await screenshots(page, 'overview');

  await page.goto(`${base}/console/jobs`);
  await until('a sample of the queue', async () => {
    await page.reload();
    assert.equal(await page.locator('#queue-depth svg rect.bar').count(), 24);
    return (await page.locator('#queue-depth tbody').textContent()).includes('due at most');
  }, 20_000);
  await page.context().close();
});

test("a store's staff reach none of another store's titles, payments, events, webhooks or feeds", async () => {
  const api = storeApi(otherStore);
  const title = await (await api('POST', '/v1/titles', { title: 'Not Yours' })).json();
  const hooks = await (await api('GET', '/v1/webhooks')).json();
  const feeds = await (await api('GET', '/v1/feeds')).json();
  const staff = await signIn('staff@riverside.example');
  const csrf = await csrfOf(staff);
  const pages = ['overview', 'titles', `titles/${title.id}`, 'payments', 'events', 'webhooks', `webhooks/${hooks.items[0].id}`, 'feeds', `feeds/${feeds.items[0].id}`];
  for (const p of pages) {
    const r = await staff.request.get(`${base}/console/stores/${otherStore}/${p}`, { maxRedirects: 0 });
    assert.equal(r.status(), 404, p);
  }
  // Another store's things, named through the staff's own store: not found either.
  for (const p of [`titles/${title.id}`, `webhooks/${hooks.items[0].id}`, `feeds/${feeds.items[0].id}`]) {
    assert.equal((await staff.request.get(`${base}/console/stores/${staffStore}/${p}`, { maxRedirects: 0 })).status(), 404, p);
  }
  const forms = [
    [`titles`, { csrf, title: 'Mine' }],
    [`titles/${title.id}/details`, { csrf, title: 'Mine' }],
    [`titles/${title.id}/withdraw`, { csrf }],
    [`titles/${title.id}/sale`, { csrf }],
    [`payments/pay_nope/assign`, { csrf, customer: 'x' }],
    [`webhooks`, { csrf, url: 'https://hooks.example.com/x' }],
    [`webhooks/${hooks.items[0].id}/redeliver`, { csrf, event: 'evt_x' }],
    [`webhooks/${hooks.items[0].id}/replay`, { csrf }],
    [`feeds/${feeds.items[0].id}/sync`, { csrf }],
  ];
  for (const [p, form] of forms) {
    assert.equal((await post(staff, `/console/stores/${otherStore}/${p}`, form)).status(), 404, p);
  }
  for (const [p, form] of forms.filter(([p]) => p.includes('/'))) {
    if (p.startsWith('payments')) continue;
    assert.equal((await post(staff, `/console/stores/${staffStore}/${p}`, form)).status(), 404, `own store, ${p}`);
  }
  const upload = await staff.request.post(`${base}/console/stores/${otherStore}/titles/${title.id}/tracks`, {
    multipart: { csrf, file: { name: 'a.mp3', mimeType: 'audio/mpeg', buffer: Buffer.from('x') } }, maxRedirects: 0,
  });
  assert.equal(upload.status(), 404);
  const after = await (await api('GET', `/v1/titles/${title.id}`)).json();
  assert.equal(after.title, 'Not Yours');
  assert.equal(after.withdrawn_at, null);
  assert.deepEqual(after.tracks, []);
  await staff.context().close();
});
