// The demo store's test checkout: "pays", then tells the player that opened it.
const params = new URLSearchParams(location.search);
const button = document.getElementById('pay');
const done = document.getElementById('done');
button.addEventListener('click', async () => {
  button.disabled = true;
  const r = await fetch('/widget/demo/checkout', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: params.get('title'), visitor: params.get('visitor') }),
  });
  if (!r.ok) {
    done.textContent = `The test payment failed (HTTP ${r.status}).`;
    button.disabled = false;
    return;
  }
  done.textContent = 'Paid. You can close this window.';
  window.opener?.postMessage({ type: 'fount:checkout-complete' }, location.origin);
  setTimeout(() => window.close(), 800);
});
