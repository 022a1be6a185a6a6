/* parkcarbon planning charts (ECharts from static/vendor): the stored schedule of one plan —
   load, PV, grid import/export [kW] and battery state of charge [kWh]. Missing series stay absent. */
(function () {
  "use strict";
  var el = document.getElementById("plan-data");
  if (!el || typeof echarts === "undefined") { return; }
  var page = JSON.parse(el.textContent);
  var s = page.schedule, en = page.lang === "en";
  function t(zh, e) { return en ? e : zh; }
  var x = s.timestamp_utc.map(function (v) { return v.slice(0, 16).replace("T", " "); });
  function line(name, key, extra) {
    if (!s[key]) { return null; }
    var o = { name: name, type: "line", showSymbol: false, sampling: "lttb", data: s[key] };
    if (extra) { for (var k in extra) { o[k] = extra[k]; } }
    return o;
  }
  var base = { animation: false, tooltip: { trigger: "axis" }, legend: { top: 0 },
               grid: { left: 70, right: 20, top: 40, bottom: 70 },
               dataZoom: [{ type: "inside" }, { type: "slider", bottom: 10 }],
               xAxis: { type: "category", data: x, name: "UTC" } };
  function merge(a, b) { var o = {}, k; for (k in a) { o[k] = a[k]; } for (k in b) { o[k] = b[k]; } return o; }
  var options = {
    power: function () {
      return { yAxis: { type: "value", name: "kW" }, series: [
        line(t("负荷", "Load"), "load_kw"),
        line(t("光伏", "PV"), "pv_kw", { areaStyle: { opacity: 0.25 } }),
        line(t("下网", "Grid import"), "grid_import_kw"),
        line(t("上网", "Grid export"), "grid_export_kw"),
        line(t("储能充电", "Battery charge"), "battery_charge_kw"),
        line(t("储能放电", "Battery discharge"), "battery_discharge_kw")
      ].filter(function (v) { return v !== null; }) };
    },
    soc: function () {
      return { yAxis: { type: "value", name: "kWh" }, series: [line(t("荷电状态", "State of charge"), "battery_soc_kwh", { step: "end" })] };
    }
  };
  var charts = [];
  document.querySelectorAll("[data-plan-chart]").forEach(function (node) {
    var make = options[node.getAttribute("data-plan-chart")];
    if (!make) { return; }
    var chart = echarts.init(node, null, { renderer: "canvas" });
    chart.setOption(merge(base, make()));
    node.setAttribute("data-rendered", "1");
    charts.push(chart);
  });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  window.parkcarbonPlanCharts = charts;
}());
