// mailgate admin console: progressive enhancement only. Every page works without this script; with it,
// the overview refreshes itself, copy buttons copy, and destructive one-click forms ask first.
(() => {
  /** Copy buttons: data-copy names the element whose text is copied. */
  function setUpCopyButtons() {
    for (const button of document.querySelectorAll('button[data-copy]')) {
      button.addEventListener('click', async () => {
        const source = document.getElementById(button.dataset.copy);
        if (!source) return;
        const label = button.textContent;
        try {
          await navigator.clipboard.writeText(source.textContent.trim());
          button.textContent = 'Copied';
        } catch {
          // No clipboard permission: select the text so the user can copy it by hand.
          const range = document.createRange();
          range.selectNodeContents(source);
          const selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
          button.textContent = 'Selected: press Ctrl+C';
        }
        setTimeout(() => {
          button.textContent = label;
        }, 2000);
      });
    }
  }

  /** Forms with data-confirm ask before they submit. */
  function setUpConfirmations() {
    for (const form of document.querySelectorAll('form[data-confirm]')) {
      form.addEventListener('submit', (event) => {
        if (!window.confirm(form.dataset.confirm)) event.preventDefault();
      });
    }
  }

  /** A data-live element is replaced every data-every ms by a fresh copy from its URL, while visible. */
  function setUpLiveRegions() {
    for (const region of document.querySelectorAll('[data-live]')) {
      const every = Math.max(2000, Number(region.dataset.every) || 5000);
      let busy = false;
      const refresh = async () => {
        if (busy || document.hidden) return;
        busy = true;
        try {
          const response = await fetch(region.dataset.live, {
            headers: { accept: 'text/html' },
            credentials: 'same-origin',
            cache: 'no-store',
          });
          if (response.ok) {
            const html = await response.text();
            // DOMParser never runs scripts; the fragment is this console's own, escaped on the server.
            const parsed = new DOMParser().parseFromString(html, 'text/html');
            region.replaceChildren(...parsed.body.childNodes);
            region.dataset.updated = String(Date.now());
          }
        } catch {
          // Offline or the tunnel dropped: keep the last figures and try again on the next tick.
        } finally {
          busy = false;
        }
      };
      setInterval(refresh, every);
      document.addEventListener('visibilitychange', refresh);
    }
  }

  function start() {
    setUpCopyButtons();
    setUpConfirmations();
    setUpLiveRegions();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
