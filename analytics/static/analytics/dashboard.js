// The staff KPI dashboard's line charts: the series in the page's JSON blob (#kpi-charts, written by
// analytics.dashboard) drawn by Chart.js (vendor/chart.umd.min.js, loaded before this file). Each
// <canvas data-chart="name"> gets the series of that name. When every chart is drawn, <body> gets
// data-charts-drawn (the browser tests and bench/dashboard.py wait for it).
(function () {
  "use strict";

  var COLOURS = ["#2171b5", "#e6550d", "#31a354", "#756bb1", "#636363", "#d6616b", "#17becf"];

  function lineChart(canvas, spec) {
    var secondAxis = spec.series.some(function (s) { return s.axis === "y2"; });
    var scales = {
      x: { ticks: { maxTicksLimit: 10, autoSkip: true } },
      y: { beginAtZero: true, ticks: spec.ratio ? {} : { precision: 0 } },
    };
    if (secondAxis) {
      scales.y2 = { position: "right", grid: { drawOnChartArea: false }, ticks: { precision: 0 } };
    }
    return new window.Chart(canvas, {
      type: "line",
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s, i) {
          var colour = COLOURS[i % COLOURS.length];
          return {
            label: s.label,
            data: s.data,
            yAxisID: s.axis || "y",
            borderColor: colour,
            backgroundColor: colour,
            borderWidth: 2,
            pointRadius: spec.labels.length > 45 ? 0 : 2,
            tension: 0.2,
            spanGaps: true,
          };
        }),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: scales,
      },
    });
  }

  function draw() {
    var blob = document.getElementById("kpi-charts");
    if (!blob || !window.Chart) {
      return;
    }
    var charts = JSON.parse(blob.textContent);
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var spec = charts[canvas.dataset.chart];
      if (spec) {
        lineChart(canvas, spec);
        canvas.dataset.drawn = "true";
      }
    });
    document.body.dataset.chartsDrawn = "true";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
