// Paygate hosted cashier: live countdown, status polling and the return to
// the merchant. The page works without this script; it only adds to it.
(function () {
  'use strict';

  var root = document.getElementById('cashier');
  if (!root) {
    return;
  }
  var d = root.dataset;
  var state = d.state;
  var method = d.method || '';
  var hasReturn = d.hasReturn === 'true';
  var pollMs = parseInt(d.pollMs, 10) || 2000;

  // A form posts once: a second click while the first is on its way is ignored.
  Array.prototype.forEach.call(document.querySelectorAll('form'), function (f) {
    f.addEventListener('submit', function (e) {
      if (f.classList.contains('busy')) {
        e.preventDefault();
        return;
      }
      f.classList.add('busy');
    });
  });

  // The succeeded page sends the payer back to the merchant after a moment.
  if (d.returnUrl) {
    window.setTimeout(function () {
      window.location.replace(d.returnUrl);
    }, parseInt(d.returnDelayMs, 10) || 0);
    return;
  }

  // Countdown from the server's seconds_left (the payer's clock may be wrong).
  var clock = document.getElementById('countdown');
  var timer = document.getElementById('timer');
  var deadline = performance.now() + (parseInt(d.secondsLeft, 10) || 0) * 1000;
  var expiredShown = false;

  function two(n) {
    return (n < 10 ? '0' : '') + n;
  }
  function format(s) {
    if (s >= 3600) {
      return Math.floor(s / 3600) + ':' + two(Math.floor(s / 60) % 60) + ':' + two(s % 60);
    }
    return Math.floor(s / 60) + ':' + two(s % 60);
  }
  function tick() {
    var left = Math.max(0, Math.ceil((deadline - performance.now()) / 1000));
    clock.textContent = format(left);
    if (timer) {
      timer.classList.toggle('urgent', left <= 60);
    }
    if (left === 0) {
      if (!expiredShown) {
        expiredShown = true;
        window.location.reload(); // the server renders the expired page
      }
      return;
    }
    window.setTimeout(tick, 1000 - ((deadline - performance.now()) % 1000) + 20);
  }
  if (clock && (state === 'pending' || state === 'processing')) {
    tick();
  }

  // Poll until the order is final; reload when it changed under the page.
  if (state === 'succeeded' || state === 'failed' || (state === 'closed' && hasReturn)) {
    return;
  }
  var wait = pollMs;
  function poll() {
    fetch(d.statusUrl, { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) {
          throw new Error('status ' + res.status);
        }
        return res.json();
      })
      .then(function (s) {
        if (s.status === 'succeeded' && s.return_url) {
          window.location.replace(s.return_url);
          return;
        }
        if (s.status !== state || (s.method || '') !== method || Boolean(s.return_url) !== hasReturn) {
          window.location.reload();
          return;
        }
        if (typeof s.seconds_left === 'number' && s.seconds_left > 0) {
          deadline = performance.now() + s.seconds_left * 1000;
        }
        if (state === 'expired' || state === 'closed') {
          wait = Math.min(wait * 2, 30000); // little can change now: ask less and less often
        }
        window.setTimeout(poll, wait);
      })
      .catch(function () {
        window.setTimeout(poll, Math.min(wait * 2, 30000));
      });
  }
  window.setTimeout(poll, pollMs);
})();
