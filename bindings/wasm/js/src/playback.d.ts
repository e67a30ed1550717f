// Types of @fount/sdk/playback.
import type { FountTitle } from './index.js';

export interface PlayOptions {
  /** The URL of your stream worker: a module importing `@fount/sdk/stream-worker.js`, served
   * from a path whose scope covers the page. */
  worker: string | URL;
  /** How long to wait for the worker to control the page (10 s). */
  timeoutMs?: number;
}

/** Plays a title in an <audio> element through the stream worker. */
export function playTitle(audio: HTMLAudioElement, title: FountTitle, options: PlayOptions): Promise<Playback>;

/** A title playing in an <audio> element: one timeline over its tracks. */
export class Playback {
  private constructor();
  /** Seconds on the title's timeline. */
  readonly currentTime: number;
  /** The title's length, seconds. */
  readonly duration: number;
  /** The track playing. */
  readonly track: number;
  /** Goes to `seconds` on the title's timeline. */
  seek(seconds: number): void;
}
