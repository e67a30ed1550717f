// The console's few enhancements; every page works without them.

// "Copy" next to a secret shown once (a new API key).
for (const button of document.querySelectorAll('button.copy[data-copy]')) {
  const target = document.querySelector(button.dataset.copy);
  if (!target || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener('click', async () => {
    await navigator.clipboard.writeText(target.textContent.trim());
    button.textContent = 'Copied';
  });
}

// An upload's progress: the same multipart form, sent with XMLHttpRequest (fetch reports no
// upload progress), then the page the server sends to (the title, following the track).
for (const form of document.querySelectorAll('form[data-upload]')) {
  const box = form.querySelector('.upload-progress');
  const bar = form.querySelector('progress');
  const percent = form.querySelector('.upload-percent');
  const button = form.querySelector('button[type="submit"]');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open('POST', form.action);
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      const p = Math.floor((e.loaded / e.total) * 100);
      bar.value = p;
      percent.textContent = `${p} %`;
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        location.assign(xhr.responseURL);
        return;
      }
      // The server's page says what was wrong: show its message in place.
      const doc = new DOMParser().parseFromString(xhr.responseText, 'text/html');
      const message = doc.querySelector('main .error, main p')?.textContent ?? `The upload failed (${xhr.status}).`;
      percent.textContent = message;
      percent.classList.add('status-failed');
      button.disabled = false;
    });
    xhr.addEventListener('error', () => {
      percent.textContent = 'The upload was interrupted: check the connection and try again.';
      percent.classList.add('status-failed');
      button.disabled = false;
    });
    box.hidden = false;
    percent.classList.remove('status-failed');
    percent.textContent = '0 %';
    button.disabled = true;
    xhr.send(new FormData(form));
  });
}

// Parts of a page that change on their own (a track being prepared, the event log when
// followed): reloaded every data-refresh milliseconds, swapped for the same part of the page
// fetched again, until the fresh part no longer asks to be refreshed.
function refresh(section) {
  const every = Number(section.dataset.refresh);
  if (!every) return;
  setTimeout(async () => {
    if (!section.dataset.refresh) return;
    try {
      const response = await fetch(location.href, { credentials: 'same-origin', signal: AbortSignal.timeout(10000) });
      if (!response.ok) throw new Error(String(response.status));
      const doc = new DOMParser().parseFromString(await response.text(), 'text/html');
      const fresh = doc.getElementById(section.id);
      if (!fresh) return;
      section.replaceChildren(...fresh.childNodes);
      if (!section.dataset.follow && !fresh.dataset.refresh) delete section.dataset.refresh;
    } catch {
      // A missed refresh is tried again at the next turn.
    }
    refresh(section);
  }, every);
}
for (const section of document.querySelectorAll('[data-refresh]')) refresh(section);

// "Follow live": the event log refreshed every two seconds while pressed.
for (const button of document.querySelectorAll('button.follow[data-follow]')) {
  const section = document.querySelector(button.dataset.follow);
  if (!section) continue;
  button.hidden = false;
  const set = (on) => {
    button.setAttribute('aria-pressed', String(on));
    button.textContent = on ? 'Following live' : 'Follow live';
    if (on) {
      section.dataset.follow = '1';
      if (!section.dataset.refresh) {
        section.dataset.refresh = '2000';
        refresh(section);
      }
    } else {
      delete section.dataset.follow;
      delete section.dataset.refresh;
    }
  };
  set(button.getAttribute('aria-pressed') === 'true');
  button.addEventListener('click', () => set(button.getAttribute('aria-pressed') !== 'true'));
}
