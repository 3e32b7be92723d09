// TDP page behaviour. Loaded as a file: the CSP forbids inline script.
"use strict";
(function () {
  // "Select all" checkbox for tables with row checkboxes.
  document.addEventListener("change", function (event) {
    const box = event.target;
    if (box.matches && box.matches("input[data-select-all]")) {
      const scope = box.closest("form") || document;
      scope.querySelectorAll("input[type=checkbox][name='" + box.dataset.selectAll + "']")
        .forEach(function (cb) { cb.checked = box.checked; });
    }
  });
})();
(function () {
  // Buttons with data-confirm ask before their form is submitted (no inline handlers: CSP).
  document.addEventListener("submit", function (event) {
    const button = event.submitter;
    if (button && button.dataset && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);
})();
