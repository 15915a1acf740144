/* twoface ui: the live parts (job logs, training view, charts). Everything else is htmx. */
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const text = (id, v) => { const e = $(id); if (e && v !== undefined && v !== null) e.textContent = v; };

  function listen(url, onData) {
    const es = new EventSource(url);
    es.onmessage = (ev) => { const d = JSON.parse(ev.data); if (onData(d) === false) es.close(); };
    es.onerror = () => { /* the browser reconnects by itself */ };
    return es;
  }

  function chart(el, title, labels, colors, data) {
    const width = Math.max(320, el.clientWidth || 480);
    const series = [{ label: "iteration" }].concat(labels.map((l, i) => ({ label: l, stroke: colors[i], width: 2, spanGaps: true })));
    return new uPlot({ title: title, width: width, height: 220, series: series, scales: { x: { time: false } } }, data, el);
  }

  // --- option forms: list the fields the user touched, so a touched default still counts as chosen
  // (a preset fills only what was not chosen; ui/forms.py parse_form) ---
  document.querySelectorAll("input[name=__given]").forEach((given) => {
    if (!given.form) return;
    const touched = new Set();
    const note = (ev) => {
      const name = ev.target && ev.target.name;
      if (!name || name.startsWith("__") || !ev.target.closest(".fields")) return;
      touched.add(name.replace(/__present$/, ""));
      given.value = Array.from(touched).join(",");
    };
    given.form.addEventListener("input", note);
    given.form.addEventListener("change", note);
  });

  // --- one job: state and log ---
  const log = $("job-log");
  if (log && log.dataset.events) {
    listen(log.dataset.events, (d) => {
      log.textContent = d.log;
      log.scrollTop = log.scrollHeight;
      const s = $("job-status"); s.textContent = d.status; s.className = "status " + d.status;
      text("job-error", d.error || "");
      if (d.frames_done !== undefined) {
        text("job-progress", "· " + d.frames_done + " frames, " + (d.faces_found ?? d.faces_in_store ?? 0) + " faces, " + (d.frames_per_s ?? "?") + " frames/s");
      }
      return !["done", "failed", "cancelled", "interrupted"].includes(d.status);
    });
  }

  // --- the live training view ---
  const live = $("train-live");
  if (live) {
    window.twofaceCharts = {};
    let lastPreview = null;
    listen(live.dataset.events, (d) => {
      const st = d.stats || {};
      text("t-iteration", st.iteration);
      text("t-loss-a", st.loss_a); text("t-loss-b", st.loss_b);
      text("t-speed", st.faces_per_s !== undefined ? st.faces_per_s.toFixed(1) : undefined);
      text("t-eta", st.eta || (st.iteration ? "–" : undefined));
      text("t-saved", d.saved_iteration);
      if (d.job) { const s = $("t-status"); s.textContent = d.job.status; s.className = "status " + d.job.status; }
      if (d.preview && d.preview !== lastPreview) {
        lastPreview = d.preview;
        $("preview-img").src = d.preview_url + "&t=" + d.preview;
        text("preview-time", "· updated " + new Date().toLocaleTimeString());
      }
      const c = d.chart;
      const lossEl = $("loss-chart"), qEl = $("quality-chart");
      if (c.loss[0].length) {
        if (!window.twofaceCharts.loss) window.twofaceCharts.loss = chart(lossEl, "training loss", ["A", "B"], ["#d9534f", "#337ab7"], c.loss);
        else window.twofaceCharts.loss.setData(c.loss);
        lossEl.dataset.points = c.loss[0].length;
      }
      if (c.quality[0].length) {
        if (!window.twofaceCharts.quality) window.twofaceCharts.quality = chart(qEl, "validation loss and identity (SFace)", c.quality_labels, ["#d9534f", "#337ab7", "#5cb85c", "#f0ad4e"], c.quality);
        else window.twofaceCharts.quality.setData(c.quality);
        qEl.dataset.points = c.quality[0].length;
      }
      return true;
    });
  }

  // --- the report's quality curve ---
  const rc = $("report-chart");
  if (rc && rc.dataset.curve) {
    const c = JSON.parse(rc.dataset.curve);
    chart(rc, "validation loss and identity over iterations", c.quality_labels, ["#d9534f", "#337ab7", "#5cb85c", "#f0ad4e"], c.quality);
  }
})();
