// 惠企: small progressive enhancements. Pages work without JavaScript except charts and live updates.
(function () {
  "use strict";
  // Job progress: <div data-job-url="/api/v1/jobs/7" data-job-done="/simulations/7">
  function pollJob(el) {
    var bar = el.querySelector("progress");
    var text = el.querySelector("[data-job-message]");
    function tick() {
      fetch(el.dataset.jobUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          if (bar) { bar.value = job.progress; bar.textContent = Math.round(job.progress * 100) + "%"; }
          if (text) { text.textContent = job.message || ""; }
          if (job.state === "done" || job.state === "failed" || job.state === "cancelled") {
            window.location.replace(el.dataset.jobDone);
          } else {
            window.setTimeout(tick, 1000);
          }
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    tick();
  }
  function drawCharts() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var spec = JSON.parse(document.getElementById(el.dataset.chart).textContent);
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(spec);
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
    document.querySelectorAll("[data-job-url]").forEach(pollJob);
    // A quoted citation inside a long text box: scroll the box (not the page) to it.
    document.querySelectorAll(".doc-text mark.citation").forEach(function (mark) {
      var box = mark.closest(".doc-text");
      box.scrollTop = mark.offsetTop - 60;  // the box is position: relative
    });
    drawCharts();
  });
})();
