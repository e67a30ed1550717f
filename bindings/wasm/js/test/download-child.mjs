// One run of an app downloading a title, in its own process so that the test can kill it:
// prints each progress as a JSON line, and the final one.
//   node download-child.mjs SERVER TOKEN TITLE DIR TAG
import { FountClient, fetchTransport } from '../src/index.js';
import { fileKeyStore, fileStorage } from './node-host.js';

const [server, token, title, dir, tag] = process.argv.slice(2);
const plain = fetchTransport(undefined, { timeoutMs: 30_000 });
// Tagged, so that the proxy counts this run's requests apart from a killed one's.
const transport = {
  send: (r) => plain.send({ ...r, headers: [...r.headers, { name: 'x-test-app', value: tag }] }),
};
const client = await FountClient.create(server, { storage: fileStorage(dir), keyStore: fileKeyStore(dir), transport });
await client.registerDevice(token, 'node');
if ((await client.licenses()).every((l) => l.titleId !== title)) await client.acquireLicense(token, title);
await client.setDownloadSettings({ parallel: 4, attempts: 4, retryDelayMs: 50 });
await client.enqueueDownload(title);
const all = await client.runDownloads({ onProgress: (p) => console.log(JSON.stringify(p)) });
console.log(JSON.stringify({ final: all.find((p) => p.titleId === title) }));
