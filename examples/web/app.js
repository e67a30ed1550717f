// A page that plays a Fount title with the JavaScript SDK and nothing else: register, acquire,
// open, then feed decrypted bytes to the <audio> element through Media Source Extensions, so
// no URL anywhere serves the decrypted file.
import { FountClient, FountError, NotEntitledError } from '@fount/sdk';

const form = document.querySelector('#setup');
const audio = document.querySelector('audio');
const status = document.querySelector('#status');
const say = (text, error = false) => { status.textContent = text; status.className = error ? 'error' : ''; };

// Prefill from the query string (?server=…&token=…&title=…&autoplay=1).
const query = new URLSearchParams(location.search);
for (const name of ['server', 'token', 'title']) if (query.has(name)) form.elements[name].value = query.get(name);

/** Appends `bytes` and waits until the SourceBuffer has taken them. */
function append(buffer, bytes) {
  return new Promise((resolve, reject) => {
    buffer.addEventListener('updateend', resolve, { once: true });
    buffer.addEventListener('error', reject, { once: true });
    buffer.appendBuffer(bytes);
  });
}

/** Streams every track, in order, into one MediaSource. */
function stream(title) {
  const source = new MediaSource();
  audio.src = URL.createObjectURL(source);
  source.addEventListener('sourceopen', async () => {
    URL.revokeObjectURL(audio.src);
    const tracks = title.tracks();
    const buffer = source.addSourceBuffer(tracks[0].mediaType);
    buffer.mode = 'sequence';
    for (const track of tracks) {
      for (let at = 0; at < track.length;) {
        const bytes = await title.read(track.index, at, 256 * 1024);
        await append(buffer, bytes);
        at += bytes.length;
      }
    }
    source.endOfStream();
  }, { once: true });
}

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
  list.replaceChildren(...title.chapters().map((chapter) => {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.textContent = chapter.title;
    button.addEventListener('click', () => { audio.currentTime = chapter.start; audio.play(); });
    item.append(button);
    return item;
  }));
  document.querySelector('#player').hidden = false;
  stream(title);
  // Resume where the listener stopped; save the position as they listen.
  const resume = await title.position();
  if (resume) audio.addEventListener('loadedmetadata', () => { audio.currentTime = resume; }, { once: true });
  let saved = 0;
  audio.addEventListener('timeupdate', () => {
    if (Math.abs(audio.currentTime - saved) >= 5) title.savePosition((saved = audio.currentTime));
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
