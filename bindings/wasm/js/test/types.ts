// Compiled (not run) by scripts/test-js.sh with `tsc --strict --noEmit`: the declarations
// describe the API as an app uses it, and refuse misuse.
import {
  FountClient, FountError, NotEntitledError, memoryStorage, webCryptoKeyStore, type LicenseInfo, type SyncReport, type TrackInfo,
} from '../src/index.js';

export async function example(serverUrl: string, token: string, titleId: string): Promise<Uint8Array> {
  const client = await FountClient.create(serverUrl, { storage: memoryStorage(), keyStore: webCryptoKeyStore() });
  const id: string = client.deviceId;
  await client.registerDevice(token, `device ${id}`);
  let license: LicenseInfo;
  try {
    license = await client.acquireLicense(token, titleId);
  } catch (e) {
    if (e instanceof NotEntitledError) throw new Error('buy it first');
    if (e instanceof FountError) throw new Error(e.code);
    throw e;
  }
  const status: 'active' | 'revoked' | 'returned' | 'expired' = license.status;
  const until: number | undefined = license.expiresAt;
  const title = await client.openTitle(license.titleId);
  const tracks: TrackInfo[] = title.tracks();
  const position: number | undefined = await title.position();
  await title.savePosition(position ?? 0);
  const mark = await title.addBookmark(12.5, 'note');
  const chapter: string | undefined = mark.chapter;
  const synced: SyncReport = await title.syncListening(token);
  const resumeAt: number | undefined = synced.position;
  const counts: [number, number] = [synced.sent, synced.received];
  void [status, until, chapter, resumeAt, counts];
  // @ts-expect-error a track index is a number
  await title.read('0', 0, 1);
  // @ts-expect-error the token is a string
  await client.acquireLicense(42, titleId);
  return title.read(0, 0, tracks[0].length);
}
