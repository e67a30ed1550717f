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
