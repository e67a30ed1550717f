// The download manager from JavaScript against a live server, through the test proxy
// (scripts/test-proxy.py, which counts range requests and damages or refuses them on demand):
// a 100 MB title killed mid-download in its own Node process and resumed by another, progress
// in order, pause through the async iterator, cancel, a damaged block, the quota.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';

import { FountClient, QuotaExceededError, memoryStorage, webCryptoKeyStore } from '../src/index.js';
import { store } from './support.js';

const proxy = process.env.FOUNT_PROXY_URL;
const title = process.env.FOUNT_BIG_TITLE;
// Sealed blocks: the chunks (16 KiB and a 16-byte tag each) that hold 1 MiB of audio, after a 68-byte header.
const BLOCK = 64 * (16 * 1024 + 16);
const HEADER = 68;

async function control(path, body) {
  const r = await fetch(proxy + path, { method: body ? 'POST' : 'GET', body: body && JSON.stringify(body) });
  assert.ok(r.ok, `${path}: ${r.status}`);
  return r.status === 200 ? r.json() : undefined;
}

async function customer(name) {
  const id = `js-dl-${name}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  await store('POST', '/v1/entitlements', { customer: id, title, kind: 'purchase' });
  return (await store('POST', `/v1/customers/${id}/tokens`)).token;
}

/** Runs the child app; `onProgress` may return true to have it killed (SIGKILL). */
function child(token, dir, tag, onProgress = () => false) {
  const p = spawn(process.execPath, [new URL('./download-child.mjs', import.meta.url).pathname, proxy, token, title, dir, tag],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  const seen = [];
  let final;
  createInterface({ input: p.stdout }).on('line', (line) => {
    const doc = JSON.parse(line);
    if (doc.final) {
      final = doc.final;
      return;
    }
    seen.push(doc);
    if (onProgress(doc)) p.kill('SIGKILL');
  });
  const timer = setTimeout(() => p.kill('SIGKILL'), 150_000);
  return new Promise((resolve) => p.on('exit', (code, signal) => {
    clearTimeout(timer);
    resolve({ code, signal, seen, final });
  }));
}

const inOrder = (seen) => seen.every((p, i) => i === 0 || seen[i - 1].bytes <= p.bytes);

test('a download killed with its process resumes in another, fetching only the missing blocks', async () => {
  await control('/_proxy/reset', {});
  // Slowed, so that requests are in flight when the kill comes.
  await control('/_proxy/faults', { delayMs: 20 });
  const token = await customer('kill');
  const dir = await mkdtemp(join(tmpdir(), 'fount-dl-'));
  try {
    const first = await child(token, dir, 'first', (p) => p.bytes >= 30_000_000);
    assert.equal(first.signal, 'SIGKILL', 'killed mid-download');
    assert.ok(inOrder(first.seen));
    await control('/_proxy/faults', { delayMs: 0 });

    const second = await child(token, dir, 'second');
    assert.equal(second.code, 0);
    assert.equal(second.final.state, 'done');
    const { total } = second.final;
    assert.ok(total > 100_000_000, `${total}`);
    const kept = second.seen[0].bytes;
    assert.ok(kept >= first.seen.at(-1).bytes, 'the record has at least what the killed app was told');
    assert.ok(inOrder(second.seen), 'progress in order');
    assert.deepEqual([second.seen.at(-1).state, second.seen.at(-1).bytes], ['done', total]);

    const counts = await control('/_proxy/counts');
    const blocks = Math.ceil((total - HEADER) / BLOCK);
    const stored = Math.floor((kept - HEADER) / BLOCK);
    assert.equal(counts.apps.second, blocks - stored, 'the restarted app fetched only the missing blocks');
    const twice = Object.values(counts.ranges).filter((n) => n > 1).length;
    assert.ok(twice <= 4, `${twice} blocks fetched twice: at most one per request in flight`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('progress through the async iterator, pause, resume, cancel; a damaged block; the quota', async () => {
  await control('/_proxy/reset', {});
  const token = await customer('inproc');
  const storage = memoryStorage();
  const client = await FountClient.create(proxy, { storage, keyStore: webCryptoKeyStore() });
  await client.registerDevice(token, 'node');
  await client.acquireLicense(token, title);
  await client.setDownloadSettings({ parallel: 4, attempts: 4, retryDelayMs: 20 });

  // Block 3 arrives damaged once: it is fetched again at once.
  const damaged = HEADER + 3 * BLOCK;
  await control('/_proxy/faults', { corruptOnce: damaged });

  // Paused from the iterator once 10 MB are stored.
  const watched = [];
  const watching = (async () => {
    for await (const p of client.watchDownload(title)) {
      watched.push(p);
      if (p.bytes >= 10_000_000 && p.state === 'downloading' && watched.length > 0) await client.pauseDownload(title);
    }
  })();
  const events = [];
  client.addEventListener('downloadprogress', (e) => events.push(e.detail));
  const paused = await client.downloadTitle(title);
  await watching;
  assert.equal(paused.state, 'paused');
  assert.equal(watched.at(-1).state, 'paused', 'the iterator ends with the final state');
  assert.ok(inOrder(watched));
  assert.ok(paused.bytes >= 10_000_000 && paused.bytes < paused.total);
  assert.equal(events.length, watched.length, 'the events and the iterator see the same progress');
  assert.equal((await client.downloads())[0].state, 'paused');

  await client.resumeDownload(title);
  const [done] = await client.runDownloads();
  assert.deepEqual([done.state, done.bytes], ['done', done.total]);
  const counts = await control('/_proxy/counts');
  assert.equal(counts.ranges[String(damaged)], 2, 'the damaged block was fetched again');
  assert.ok(Object.values(counts.ranges).every((n) => n <= 2));
  const usage = await client.storageUsage();
  assert.deepEqual([usage.bytes, usage.titles.length], [done.total, 1]);

  // Reads come from storage now: the proxy sees no more range requests.
  const before = (await control('/_proxy/counts')).apps[''] ?? 0;
  const t = await client.openTitle(title);
  const last = t.tracks()[0].length;
  assert.equal((await t.read(0, last - 1000, 1000)).length, 1000);
  assert.equal((await control('/_proxy/counts')).apps[''] ?? 0, before);

  // The quota: with room for half of it, the title is refused before any block, typed.
  const cancelled = await client.cancelDownload(title);
  assert.deepEqual([cancelled.state, cancelled.bytes], ['cancelled', 0]);
  assert.equal((await client.storageUsage()).bytes, 0);
  assert.ok([...storage.map.keys()].every((k) => !k.startsWith(`fount/asset/${title}/`)));
  await client.setDownloadSettings({ parallel: 4, quotaBytes: Math.floor(done.total / 2) });
  await assert.rejects(client.downloadTitle(title), (e) => e instanceof QuotaExceededError && /needs \d+ bytes/.test(e.message));
  assert.equal((await client.downloadProgress(title)).error.code, 'quota_exceeded');
});
