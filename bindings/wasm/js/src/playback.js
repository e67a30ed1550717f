// Playback of a title in an <audio> element, through the stream worker (stream-worker.js):
// the browser's own demuxer reads decrypted bytes as it needs them, so an M4A or a 12-hour
// MP3 plays from any point to the end and seeks anywhere, and no SourceBuffer ever fills.
// A title's tracks play one after another on one timeline.
import { InvalidInputError } from './errors.js';

/** Waits until the page is controlled by a service worker (at most `ms`). */
function controlled(ms) {
  if (navigator.serviceWorker.controller) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new InvalidInputError(
      'the stream worker does not control this page: serve it from a path whose scope covers the page', 'invalid_input')), ms);
    navigator.serviceWorker.addEventListener('controllerchange', () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

/**
 * Plays `title` (a FountTitle) in `audio`. `worker` is the URL of your stream worker (a module
 * importing stream-worker.js, served where its scope covers this page). Resolves with a
 * Playback once the first track is loading.
 */
export async function playTitle(audio, title, { worker, timeoutMs = 10_000 } = {}) {
  if (!worker) throw new InvalidInputError('playTitle needs the URL of your stream worker', 'invalid_input');
  const registration = await navigator.serviceWorker.register(worker, { type: 'module' });
  await controlled(timeoutMs);
  return new Playback(audio, title, registration.scope);
}

/** A title playing in an <audio> element: one timeline over its tracks. */
export class Playback {
  #audio;
  #title;
  #scope;
  #tracks;
  #track = -1;

  constructor(audio, title, scope) {
    this.#audio = audio;
    this.#title = title;
    this.#scope = scope;
    this.#tracks = title.tracks();
    audio.addEventListener('ended', () => {
      if (this.#track + 1 < this.#tracks.length) {
        this.#load(this.#track + 1, 0);
        audio.play();
      }
    });
    this.#load(0, 0);
  }

  #load(index, offset) {
    if (index !== this.#track) {
      this.#track = index;
      const path = `.fount-stream/${encodeURIComponent(this.#title.titleId)}/${index}`;
      this.#audio.src = `${new URL(path, this.#scope)}?server=${encodeURIComponent(this.#title.serverUrl)}`;
      if (offset > 0) {
        this.#audio.addEventListener('loadedmetadata', () => { this.#audio.currentTime = offset; }, { once: true });
      }
      return;
    }
    this.#audio.currentTime = offset;
  }

  /** Seconds on the title's timeline. */
  get currentTime() {
    return (this.#tracks[this.#track]?.start ?? 0) + this.#audio.currentTime;
  }

  /** The title's length, seconds. */
  get duration() {
    return this.#title.duration;
  }

  /** The track playing. */
  get track() {
    return this.#track;
  }

  /** Goes to `seconds` on the title's timeline (in whichever track that falls). */
  seek(seconds) {
    const at = this.#title.locate(Math.max(0, Math.min(seconds, this.duration)));
    this.#load(at.track, at.offset);
  }
}
