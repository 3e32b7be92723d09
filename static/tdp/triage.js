// Triage keyboard and reviewer-wellness behaviour (queue and case pages). A file, not inline
// script: the CSP forbids inline script. Keys: j/k move, Enter opens, t/f/e label and escalate
// (elements with data-key), 1-9 pick a false-positive reason, r reveals, n gets next, ? helps.
"use strict";
(function () {
  function typing(target) {
    return target.closest && target.closest("input, textarea, select, [contenteditable]");
  }

  function visible(el) {
    return el && el.offsetParent !== null;
  }

  function toggleReveal(el) {
    el.classList.toggle("revealed");
    el.setAttribute("aria-label", el.classList.contains("revealed")
      ? "Evidence, revealed: click or press r to blur"
      : "Evidence, blurred: click or press r to reveal");
  }

  // Queue rows (j/k + Enter) and case events (j/k).
  // The selection lives in the DOM (.selected), so a refresh or filter swap cannot leave a
  // stale index pointing at another row; the selected case is re-selected after a swap.
  let selectedCase = null;
  function items() {
    const rows = document.querySelectorAll("#queue-results tr[data-case]");
    return rows.length ? Array.from(rows) : Array.from(document.querySelectorAll("[data-event]"));
  }
  function current() {
    return items().find(function (el) { return el.classList.contains("selected"); });
  }
  function move(step) {
    const list = items();
    if (!list.length) return;
    let cursor = list.findIndex(function (el) { return el.classList.contains("selected"); });
    if (list[cursor]) list[cursor].classList.remove("selected");
    cursor = Math.max(0, Math.min(list.length - 1, cursor + step));
    const el = list[cursor];
    el.classList.add("selected");
    if (el.matches("[data-event]")) el.focus();
    el.scrollIntoView({ block: "nearest" });
    selectedCase = el.dataset.case || null;
  }
  document.addEventListener("htmx:afterSwap", function () {
    if (!selectedCase) return;
    const row = document.querySelector("#queue-results tr[data-case='" + selectedCase + "']");
    if (row) row.classList.add("selected");
    else selectedCase = null;
  });

  function openKeys() {
    const dialog = document.getElementById("keys-help");
    if (dialog && !dialog.open) dialog.showModal();
  }

  function openFalsePositive() {
    const picker = document.getElementById("fp-picker");
    if (!picker) return false;
    picker.open = true;
    const first = picker.querySelector("input[type=radio]");
    if (first) first.focus();
    return true;
  }

  function pickReason(digit) {
    const picker = document.getElementById("fp-picker");
    if (!picker || !picker.open) return false;
    const radio = picker.querySelector("input[data-reason-key='" + digit + "']");
    if (!radio) return false;
    radio.checked = true;
    if (radio.hasAttribute("data-needs-note")) {
      picker.querySelector("textarea").focus();
    } else {
      picker.querySelector("form").requestSubmit();
    }
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    const picker = document.getElementById("fp-picker");
    if (key === "Escape" && picker && picker.open) { picker.open = false; return; }
    if (/^[1-9]$/.test(key) && picker && picker.open && !(typing(event.target) && event.target.type !== "radio")) {
      if (pickReason(key)) event.preventDefault();
      return;
    }
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    if (!document.querySelector("[data-keys-page]")) return;
    let handled = true;
    if (key === "j") move(1);
    else if (key === "k") move(-1);
    else if (key === "?") openKeys();
    else if (key === "Enter" && current() && current().dataset.href) {
      window.location.href = current().dataset.href;
    } else if (key === "f") handled = openFalsePositive();
    else if (key === "r") {
      const selected = current();
      const one = selected && selected.querySelector("[data-sensitive]");
      if (one) toggleReveal(one);
      else {
        const all = document.querySelectorAll("[data-sensitive]");
        const reveal = Array.from(all).some(function (el) { return !el.classList.contains("revealed"); });
        all.forEach(function (el) { if (el.classList.contains("revealed") !== reveal) toggleReveal(el); });
      }
    } else {
      const target = Array.from(document.querySelectorAll("[data-key='" + key + "']")).find(visible);
      if (target) target.click();
      else handled = false;
    }
    if (handled) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    const sensitive = event.target.closest && event.target.closest("[data-sensitive]");
    if (sensitive) { toggleReveal(sensitive); return; }
    if (event.target.closest && event.target.closest("[data-show-keys]")) openKeys();
  });
  document.addEventListener("keydown", function (event) {
    if ((event.key === "Enter" || event.key === " ") && event.target.matches && event.target.matches("[data-sensitive]")) {
      event.preventDefault();
      toggleReveal(event.target);
    }
  });

  // Queue rows and the count badge refresh without a page reload, but never under the
  // analyst's hands: not while cases are selected, the bulk bar is in use or the tab is hidden.
  window.setInterval(function () {
    const results = document.getElementById("queue-results");
    if (!results || !window.htmx || document.visibilityState !== "visible") return;
    if (results.querySelector("input[name=case]:checked")) return;
    if (results.contains(document.activeElement) && document.activeElement !== document.body) return;
    window.htmx.ajax("GET", window.location.pathname + window.location.search,
      { target: "#queue-results", swap: "outerHTML" });
  }, 30000);
})();
