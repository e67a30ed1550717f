// The demo page's event log: what a host page sees of the widget.
const log = document.getElementById('events');
for (const type of ['ready', 'purchased', 'play', 'pause', 'ended', 'error', 'signin-required']) {
  document.addEventListener(`fount:${type}`, (event) => {
    const item = document.createElement('li');
    item.textContent = `${new Date().toLocaleTimeString()} fount:${type} ${JSON.stringify(event.detail)}`;
    log.prepend(item);
  });
}
