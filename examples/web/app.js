// A page that plays a Fount title with the JavaScript SDK and nothing else: register, acquire,
// open, then play through the SDK's stream worker (fount-worker.js), which decrypts what the
// <audio> element asks for: no server anywhere serves the decrypted file, and a title of any
// length plays and seeks like a plain file.
import { FountClient, FountError, NotEntitledError } from '@fount/sdk';
import { playTitle } from '@fount/sdk/playback';

const form = document.querySelector('#setup');
const audio = document.querySelector('audio');
const status = document.querySelector('#status');
const say = (text, error = false) => { status.textContent = text; status.className = error ? 'error' : ''; };

// Prefill from the query string (?server=…&token=…&title=…&autoplay=1).
const query = new URLSearchParams(location.search);
for (const name of ['server', 'token', 'title']) if (query.has(name)) form.elements[name].value = query.get(name);

async function open(server, token, titleId) {
  say('Opening…');
  const client = await FountClient.create(server);
  await client.registerDevice(token, `Browser (${navigator.platform || 'web'})`);
  if (!(await client.licenses()).some((l) => l.titleId === titleId && l.status === 'active')) {
    await client.acquireLicense(token, titleId);
  }
  const title = await client.openTitle(titleId);
  document.querySelector('#name').textContent = title.author ? `${title.name}, by ${title.author}` : title.name;
  const list = document.querySelector('#chapters');
  let playback;
  list.replaceChildren(...title.chapters().map((chapter) => {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.textContent = chapter.title;
    button.addEventListener('click', () => { playback.seek(chapter.start); audio.play(); });
    item.append(button);
    return item;
  }));
  document.querySelector('#player').hidden = false;
  playback = await playTitle(audio, title, { worker: new URL('./fount-worker.js', import.meta.url) });
  // For the console (and the tests): seek, read the title's time.
  window.fountPlayback = playback;
  // Resume where the listener stopped; save the position as they listen.
  const resume = await title.position();
  if (resume) playback.seek(resume);
  let saved = 0;
  audio.addEventListener('timeupdate', () => {
    if (Math.abs(playback.currentTime - saved) >= 5) title.savePosition((saved = playback.currentTime));
  });
  say(`Device ${client.deviceId.slice(0, 8)}… holds a license for this title.`);
  if (query.get('autoplay')) audio.play();
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const { server, token, title } = Object.fromEntries(new FormData(form));
  try {
    await open(server.trim(), token.trim(), title.trim());
  } catch (e) {
    if (e instanceof NotEntitledError) say('This customer has not bought the title yet.', true);
    else if (e instanceof FountError) say(`${e.message} (${e.code})`, true);
    else say(String(e), true);
  }
});

if (query.get('autoplay')) form.requestSubmit();
