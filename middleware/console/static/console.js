/* Candor console: small progressive enhancement. The pages work without it, except the charts.
   Served as a file (the Content-Security-Policy allows no inline script). */
"use strict";

(function () {
  var PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d",
                 "#9333ea", "#ea580c", "#0d9488", "#4b5563"];
  var OUTCOME_COLOURS = {delivered: "#16a34a", pending: "#d97706", gave_up: "#dc2626"};

  function colour(i) { return PALETTE[i % PALETTE.length]; }

  function sum(values) { return values.reduce(function (a, b) { return a + b; }, 0); }

  function showEmpty(canvas) {
    canvas.hidden = true;
    canvas.dataset.drawn = "0";
    var empty = canvas.parentNode.querySelector(".empty");
    if (empty) { empty.hidden = false; }
  }

  function series(canvas, labels, named) {
    var names = Object.keys(named);
    var total = sum(names.map(function (n) { return sum(named[n]); }));
    if (!total) { showEmpty(canvas); return; }
    new window.Chart(canvas, {
      type: "bar",
      data: {labels: labels, datasets: names.map(function (n, i) {
        return {label: n, data: named[n], backgroundColor: colour(i), stack: "s"};
      })},
      options: {animation: false, responsive: true, maintainAspectRatio: false,
                // at most 16 labels, measured on a sample, not on each of up to 2000 buckets
                scales: {x: {stacked: true, ticks: {sampleSize: 8, maxTicksLimit: 16, maxRotation: 0},
                             grid: {display: false}},
                         y: {stacked: true, beginAtZero: true, ticks: {precision: 0}}},
                plugins: {legend: {position: "bottom"}}}
    });
    canvas.dataset.drawn = "1";
    canvas.dataset.total = String(total);
  }

  function parts(canvas, counts, colours) {
    var names = Object.keys(counts);
    var total = sum(names.map(function (n) { return counts[n]; }));
    if (!total) { showEmpty(canvas); return; }
    new window.Chart(canvas, {
      type: "doughnut",
      data: {labels: names, datasets: [{data: names.map(function (n) { return counts[n]; }),
        backgroundColor: names.map(function (n, i) { return (colours && colours[n]) || colour(i); })}]},
      options: {animation: false, responsive: true, maintainAspectRatio: false,
                plugins: {legend: {position: "bottom"}}}
    });
    canvas.dataset.drawn = "1";
    canvas.dataset.total = String(total);
  }

  // the figures are asked for as soon as this script runs (scripts are deferred: the page is parsed), while
  // Chart.js is still being loaded and compiled; the charts are drawn once both are there
  var overviewData = null;
  (function () {
    var root = document.getElementById("overview");
    if (!root) { return; }
    overviewData = fetch(root.dataset.src, {credentials: "same-origin", headers: {accept: "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); });
  })();

  function drawOverview(root) {
    overviewData
      .then(function (d) {
        var began = performance.now();
        var get = function (id) { return document.getElementById("chart-" + id); };
        series(get("traffic"), d.labels, d.traffic);
        series(get("notices"), d.labels, d.notices);
        series(get("crisis_levels"), d.labels, d.crisis_levels);
        parts(get("crisis_categories"), d.crisis_categories);
        parts(get("alerts"), d.alerts, OUTCOME_COLOURS);
        series(get("changes"), d.labels, d.changes);
        series(get("labelling"), d.labels, d.labelling);
        var complaints = document.getElementById("complaints-data");
        if (complaints && d.complaints) {
          complaints.textContent = complaints.dataset.label + ": " + d.complaints.open + " / " + d.complaints.overdue;
        }
        var totals = document.getElementById("totals");
        if (totals) {
          totals.textContent = totals.dataset.label + ": " + d.totals.events + " (" + d.period.since + " → " +
            d.period.until + ", " + d.seconds + " s)";
        }
        root.dataset.drawMs = String(Math.round(performance.now() - began));
        root.dataset.loadedMs = String(Math.round(performance.now()));   // since navigation began
        root.dataset.loaded = "1";
      })
      .catch(function (e) { root.textContent = String(e); root.dataset.loaded = "error"; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("overview");
    if (root && overviewData && window.Chart) { drawOverview(root); }
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    document.querySelectorAll("button[data-confirm]").forEach(function (b) {
      b.form.addEventListener("submit", function (ev) {
        if (!window.confirm(b.textContent.trim() + "?")) { ev.preventDefault(); }
      });
    });
  });
})();
