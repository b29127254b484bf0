// Paygate console: small progressive enhancements. Every page works
// without this script.
(function () {
  'use strict';
  // Times arrive in UTC; show them in the viewer's own zone.
  var fmt = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit'
  });
  document.querySelectorAll('time[datetime]').forEach(function (el) {
    var d = new Date(el.getAttribute('datetime'));
    if (!isNaN(d)) {
      el.title = el.textContent;
      el.textContent = fmt.format(d);
    }
  });
  // "/" focuses the search box.
  document.addEventListener('keydown', function (e) {
    var q = document.getElementById('q');
    if (e.key === '/' && q && document.activeElement.tagName !== 'INPUT' && document.activeElement.tagName !== 'TEXTAREA') {
      e.preventDefault();
      q.focus();
    }
  });
  // Highlight the object a link pointed at (#rfd_…, #evt_…).
  if (location.hash.length > 1) {
    var id = decodeURIComponent(location.hash.slice(1));
    document.querySelectorAll('[data-ref="' + id.replace(/"/g, '') + '"]').forEach(function (el) { el.classList.add('hl'); });
  }
})();
