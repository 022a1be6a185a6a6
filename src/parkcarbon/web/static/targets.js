/* parkcarbon targets & warnings charts (ECharts from static/vendor): year-end forecast / budget per
   enterprise with the forecast band and the grade colours, and each target's TTM value vs its path. */
(function () {
  "use strict";
  var el = document.getElementById("targets-data");
  if (!el || typeof echarts === "undefined") { return; }
  var page = JSON.parse(el.textContent), en = page.lang === "en";
  function t(zh, e) { return en ? e : zh; }
  var colours = { green: "#27ae60", yellow: "#f1c40f", orange: "#e67e22", red: "#c0392b" };
  var charts = [];
  var node = document.getElementById("chart-warnings");
  if (node && page.warnings.length) {
    var w = page.warnings.slice(0, 40);
    var c = echarts.init(node);
    c.setOption({
      animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 60, right: 20, top: 40, bottom: 90 },
      xAxis: { type: "category", data: w.map(function (e) { return e.enterprise_id; }), axisLabel: { rotate: 60 } },
      yAxis: { type: "value", name: "%", axisLabel: { formatter: function (v) { return Math.round(v * 100); } } },
      series: [
        { name: t("预测/预算", "Forecast / budget"), type: "bar", color: "#c0392b",
          data: w.map(function (e) { return { value: e.ratio_frac, itemStyle: { color: colours[e.grade] } }; }) },
        { name: t("预测区间", "Forecast band"), type: "custom", color: "#34495e",
          renderItem: function (params, api) {
            var lo = api.coord([api.value(0), api.value(1)]), hi = api.coord([api.value(0), api.value(2)]);
            return { type: "line", shape: { x1: lo[0], y1: lo[1], x2: hi[0], y2: hi[1] }, style: { stroke: "#34495e", lineWidth: 2 } };
          },
          data: w.filter(function (e) { return e.low_qty !== null; }).map(function (e) {
            return [e.enterprise_id, e.low_qty / e.budget_qty, e.high_qty / e.budget_qty]; }) },
        { name: t("预算线", "Budget"), type: "line", showSymbol: false, lineStyle: { type: "dashed", color: "#7f8c8d" },
          data: w.map(function () { return 1.0; }) }
      ]
    });
    charts.push(c);
    node.setAttribute("data-rendered", "1");
  }
  document.querySelectorAll("[data-target-chart]").forEach(function (n) {
    var p = page.progress[parseInt(n.getAttribute("data-target-chart"), 10)];
    if (!p) { return; }
    var x = p.points.map(function (q) { return q.month; });
    var c = echarts.init(n);
    c.setOption({
      animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 70, right: 20, top: 40, bottom: 30 },
      xAxis: { type: "category", data: x }, yAxis: { type: "value", scale: true },
      series: [
        { name: t("滚动12个月实际", "Trailing 12 months"), type: "line", showSymbol: false,
          data: p.points.map(function (q) { return q.ttm.value; }) },
        { name: t("目标路径", "Target path"), type: "line", showSymbol: false, lineStyle: { type: "dashed" },
          data: p.points.map(function (q) { return q.path_value; }) }
      ]
    });
    charts.push(c);
    n.setAttribute("data-rendered", "1");
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
}());
