// The console in headless Chromium against a live `fount-server demo`: signing in (and a
// wrong password, and the lock after repeated failures), an operator's stores and settings, an
// API key made in the console used on the API and revoked, forged and cross-store requests
// refused, staff kept to their store on every page and form. Each page is checked with
// axe-core and screenshotted at phone and desktop widths into artifacts/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForLoadState('load');
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
  assert.match(await page.locator('table').first().textContent(), /webhook\.deliver/);
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
